"""Bad videos through the stages and `ldfa run`: a corrupt, a truncated, a zero-frame and an
audio-only file are recorded failures (one line each saying why, left out of the export and
listed in its manifest, never copied raw), while a variable-frame-rate and a rotated clip are
anonymized whole (every frame kept with its time, the rotation kept, the faces covered as
displayed), beside a good clip. Nothing crashes and no video comes back shorter."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from ldfa.cli import main as cli
from ldfa.plugin.errors import ImageError
from ldfa.plugin.geometry.boxes import to_pixels
from ldfa.plugin.io.video import probe, read_frames
from ldfa_testing.photos import iou
from ldfa_testing.videos import cut, shared_clip, write_audio, write_clip

FRAMES = 6
VFR_TIME_BASE, VFR_PTS = Fraction(1, 90000), [0, 3000, 9000, 10000, 30000, 33003]
GOOD = ("good.mp4", "vfr.mp4", "rotated.mp4")
BAD = ("corrupt.mp4", "truncated.mp4", "zero-frames.mp4", "audio-only.mp4")


def write_zero_frames(path: Path) -> Path:
    """An MP4 whose header names a video track and no frame follows (a recording stopped at
    once): fragmented, so the empty track is written up front (plain MP4 drops an empty track)."""
    with av.open(str(path), "w", options={"movflags": "frag_keyframe+empty_moov"}) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def write_truncated(source: Path, path: Path) -> Path:
    """``source`` with its index first (as phones and web downloads have it) and its last third
    cut off: a copy or download that stopped early."""
    whole = path.with_name(f".whole-{path.name}")
    with av.open(str(source)) as src, av.open(str(whole), "w", options={"movflags": "+faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.size:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    data = whole.read_bytes()
    whole.unlink()
    path.write_bytes(data[:len(data) * 2 // 3])
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder of the seven videos: walkway's first frames at half size, the same frames at
    irregular times and stored turned for a 90-degree display, and the four bad files."""
    root = tmp_path_factory.mktemp("bad-input") / "videos"
    root.mkdir()
    good = cut(shared_clip("walkway.mp4"), root / "good.mp4", FRAMES, 0.5)
    frames = list(read_frames(good))
    write_clip(root / "vfr.mp4", frames, pts=VFR_PTS, time_base=VFR_TIME_BASE, preset="ultrafast", bf=0)
    # stored turned a quarter anticlockwise, so the display's clockwise quarter turn shows ``frames``
    write_clip(root / "rotated.mp4", [np.rot90(f) for f in frames], rotation=90, preset="ultrafast", bf=0)
    (root / "corrupt.mp4").write_bytes(np.random.default_rng(21).integers(0, 256, 20000, np.uint8).tobytes())
    write_truncated(good, root / "truncated.mp4")
    write_zero_frames(root / "zero-frames.mp4")
    write_audio(root / "audio-only.mp4", 0.5)
    return root


def frame_times(path) -> list[Fraction]:
    with av.open(str(path)) as container:
        return [f.pts * f.time_base for f in container.decode(video=0)]


def why(path: Path) -> str:
    """Why ``probe`` refuses ``path``: its one-line reason, without the path it starts with."""
    with pytest.raises(ImageError) as refused:
        probe(path)
    return str(refused.value).removeprefix(f"{path}: ")


def faces_per_frame(videos, name: str) -> list[list[list[float]]]:
    """The face boxes (relative, display orientation) of each frame of video ``name``."""
    sample = videos.match({"filepath": {"$regex": f"/{name}$"}}).first()
    return [[d.bounding_box for d in frame["faces"].detections] for _, frame in sorted(sample.frames.items())]


def assert_anonymized_whole(source: Path, output: Path, faces: list[list[list[float]]]) -> None:
    """``output`` is ``source`` with every face covered as displayed: the same frames at the same
    times, the same size and rotation (so never shorter), each face region changed."""
    before, after = probe(source), probe(output)
    assert (after.frames, after.rate, after.width, after.height, after.rotation, after.streams) == (
        before.frames, before.rate, before.width, before.height, before.rotation, before.streams), output
    assert after.duration >= before.duration and frame_times(output) == frame_times(source), output
    assert len(faces) == before.frames and any(faces), f"{source.name}: no face found to cover"
    for n, (a, b, boxes) in enumerate(zip(read_frames(source), read_frames(output), faces, strict=True)):
        for box in boxes:
            x, y, w, h = (round(v) for v in to_pixels(box, before.width, before.height))
            changed = np.abs(a[y:y + h, x:x + w].astype(int) - b[y:y + h, x:x + w].astype(int)).max(axis=-1)
            assert changed.size and (changed > 8).mean() > 0.5, f"{output.name} frame {n}: face {box} left"


@pytest.fixture(scope="module")
def run(fo, folder, tmp_path_factory):
    """`ldfa run FOLDER --output OUT --method solid`, once: its exit status, what it printed, the
    exception it raised (None), the output folder and the video dataset it made."""
    out = tmp_path_factory.mktemp("run") / "out"
    name = f"bad-input-{uuid.uuid4().hex[:6]}"
    printed, raised, code = io.StringIO(), None, None
    with contextlib.redirect_stdout(printed):
        try:
            code = cli(["run", str(folder), "--output", str(out), "--method", "solid", "--dataset", name])
        except Exception as e:  # a crash is what the tests report, with its traceback
            raised = e
    videos = fo.load_dataset(f"{name}-videos") if fo.dataset_exists(f"{name}-videos") else None
    yield {"code": code, "stdout": printed.getvalue(), "raised": raised, "out": out, "videos": videos}
    for made in (name, f"{name}-videos"):
        if fo.dataset_exists(made):
            fo.delete_dataset(made)


@pytest.mark.slow
def test_ldfa_run_exports_the_good_videos_whole_and_leaves_the_bad_ones_out(run, folder):
    if run["raised"] is not None:
        raise run["raised"]
    out, stdout = run["out"], run["stdout"]
    assert run["code"] == 0 and "verify-export: ok" in stdout, stdout  # some written, the export verified
    exported = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert exported == sorted([*GOOD, *(f"{name}.faces.json" for name in GOOD)])
    bad = {(folder / name).read_bytes() for name in BAD}
    assert not [p for p in out.rglob("*") if p.is_file() and p.read_bytes() in bad], "a bad video copied raw"
    manifest = json.loads(out.with_name(f"{out.name}.ldfa-manifest.json").read_text())
    assert manifest["complete"] and {s["file"] for s in manifest["skipped"]} == set(BAD)
    assert all(s["reason"] for s in manifest["skipped"])
    for name in GOOD:
        assert_anonymized_whole(folder / name, out / name, faces_per_frame(run["videos"], name))
    assert frame_times(out / "vfr.mp4") == [p * VFR_TIME_BASE for p in VFR_PTS]
    assert probe(out / "rotated.mp4").rotation == 90


@pytest.mark.slow
def test_ldfa_run_says_which_videos_failed_and_why(fo, run, folder, tmp_path):
    if run["raised"] is not None:
        raise run["raised"]
    lines = run["stdout"].splitlines()
    for name in BAD:
        said = [line for line in lines if name in line]
        assert len(said) == 1 and why(folder / name) in said[0], (name, said)
    for name in GOOD:
        assert not [line for line in lines if name in line], name
    only_bad = tmp_path / "only-bad"
    only_bad.mkdir()
    for name in BAD:
        (only_bad / name).write_bytes((folder / name).read_bytes())
    printed, name = io.StringIO(), f"only-bad-{uuid.uuid4().hex[:6]}"
    try:
        with contextlib.redirect_stdout(printed):  # nothing anonymized: the run failed
            code = cli(["run", str(only_bad), "--output", str(tmp_path / "out"), "--method", "solid",
                        "--dataset", name])
    finally:
        for made in (name, f"{name}-videos"):
            if fo.dataset_exists(made):
                fo.delete_dataset(made)
    assert code == 1, printed.getvalue()


@pytest.mark.slow
def test_detect_then_anonymize_record_each_bad_video_on_its_sample(fo, folder, tmp_path, capsys):
    name = f"bad-input-stages-{uuid.uuid4().hex[:6]}"
    try:
        assert cli(["detect", "--dataset", name, "--videos", str(folder), "--json"]) == 0
        detected = json.loads(capsys.readouterr().out)
        assert detected["videos_added"]["added"] == 7 and detected["failed"] == len(BAD)
        assert cli(["anonymize", "--dataset", name, "--method", "solid", "--output-dir", str(tmp_path / "out"),
                    "--json"]) == 0
        anonymized = json.loads(capsys.readouterr().out)
        assert (anonymized["written"], anonymized["failed"]) == (len(GOOD), len(BAD))
        videos = fo.load_dataset(name)
        for sample in videos:
            file = Path(sample.filepath)
            if file.name in BAD:
                assert sample["faces_error"] == f"{file}: {why(file)}"
                assert sample["anon_solid_error"] and sample["anon_solid"] is None
                assert {"faces_failed", "anon_solid_failed"} <= set(sample.tags), file.name
                assert not any(frame["faces"] for frame in sample.frames.values()), file.name
            else:
                assert sample["faces_error"] is None and sample["anon_solid_error"] is None and not sample.tags
                assert Path(sample["anon_solid"]) == tmp_path / "out" / file.name
                faces = faces_per_frame(videos, file.name)
                assert all(d.index is not None for frame in sample.frames.values() for d in frame["faces"].detections)
                assert_anonymized_whole(file, tmp_path / "out" / file.name, faces)
        assert frame_times(tmp_path / "out" / "vfr.mp4") == [p * VFR_TIME_BASE for p in VFR_PTS]
        # the rotated clip shows what the good one shows: its faces are found where they are displayed
        good, rotated = faces_per_frame(videos, "good.mp4"), faces_per_frame(videos, "rotated.mp4")
        found = [max((iou(a, b) for b in turned), default=0) for faces, turned in zip(good, rotated) for a in faces]
        assert np.mean(found) > 0.5, found
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(GOOD)  # nothing of the bad ones
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_an_mp4_cut_short_is_called_truncated(folder):
    assert why(folder / "truncated.mp4").startswith("truncated")
