"""What `--video-keyframes K` does: diffusion calls, seconds a frame, flicker, identity consistency.

    PYTHONPATH=tests .venv/bin/python bench/keyframes.py [--painter tiny|original|MODEL]
        [--frames 24] [--scale 0.5] [--every 1 2 4]

The faces are the default detector and tracker's on walkway.mp4's first ``--frames`` frames at
``--scale``; each K runs ``anonymize_video`` (the engine's own code, lossless output) and
``measure_clip`` (the metric ``ldfa evaluate`` runs, with FaceNet's packaged weights) on it:

- ``diffused``: faces handed to the painter (the rest carried from their track's keyframe);
- ``s/frame``: the anonymization's wall seconds per frame (painter included);
- ``flicker``: mean change between consecutive frames inside each face, output (original beside);
- ``leaks``: face frames left with the original's detail (the leak rule of ``ldfa evaluate``);
- ``same/track``: FaceNet distance between a track's output faces across frames (one person: small),
  ``to orig``: from each output face to the original face of its frame, over the tracks FaceNet judges.

The painter (``--painter``):
- ``tiny``: the random-weight test model of ``ldfa_testing.tiny_pipeline`` (64 px, 2 steps): the
  cost structure and flicker of diffusing each face anew, not what a real model paints;
- ``original``: paints each diffused face with the frame's own original pixels. This isolates the
  carrying step: with K = 1 the output is the original; with K > 1 every carried face is a
  keyframe's real face moved and colour-matched onto a later frame, so ``to orig`` is how far
  carrying moves a face from the person the frame shows, set against ``same/track`` at K = 1 (how
  much one real person varies between frames). Its leaks are by design (it paints the original);
- a diffusers model folder or hub id (SD inpainting on a GPU): the real figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa_testing.videos import cut, shared_clip  # noqa: E402

TINY_PARAMS = {"crop_size": 64, "num_inference_steps": 2, "context_px": 8}  # the tiny model's own size


def detected(clip: Path):
    """The clip's faces per frame as the video detection finds and tracks them."""
    from ldfa.plugin.detection.track_config import TrackConfig
    from ldfa.plugin.detection.video import VideoDetectTask, detect_video
    from ldfa.plugin.detection.workers import finder

    return detect_video(VideoDetectTask("bench", str(clip)), finder("face", {}), TrackConfig())


def face_tasks(found) -> tuple[list[tuple], list[list]]:
    """Per frame the anonymizer's face tasks (seed keyed by the track) and the metric's (box, track)."""
    from ldfa.plugin.anonymization.faces import FaceTask
    from ldfa.plugin.detection.core import face_fields

    width, height = found.size
    tasks, boxes = [], []
    for n, faces in enumerate(found.frames):
        here = []
        for i, (face, track) in enumerate(faces):
            fields = face_fields(face, width, height)
            marks = tuple(map(tuple, fields["landmarks"])) if "landmarks" in fields else None
            here.append(FaceTask(f"{n}-{i}", tuple(fields["bounding_box"]), 0, f"bench:{track}", marks))
        tasks.append(tuple(here))
        boxes.append([(tuple(face.box), track) for face, track in faces])
    return tasks, boxes


def painter_of(name: str, work: Path):
    """(config parameters, painter factory) for ``--painter``."""
    from ldfa.plugin.anonymization.config import AnonymizationConfig
    from ldfa.plugin.anonymization.faces import load_painter

    if name == "original":
        def own_pixels(jobs):
            return [job.image[job.paste[1]:job.paste[3], job.paste[0]:job.paste[2]].copy() for job in jobs]
        return {}, lambda config: own_pixels  # no model loads: the painter is the frame itself
    if name == "tiny":
        return {"model": str(build_tiny(work)), **TINY_PARAMS}, load_painter
    AnonymizationConfig.build(method="ldfa", model=name)  # a clear error for a bad model now
    return {"model": name}, load_painter


def build_tiny(work: Path) -> Path:
    from ldfa_testing.tiny_pipeline import build

    folder = work / "tiny-model"
    return folder if (folder / "model_index.json").exists() else build(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--painter", default="tiny", help="tiny, original, or a diffusers model")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--every", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()

    from ldfa.plugin.anonymization.config import AnonymizationConfig
    from ldfa.plugin.anonymization.video import VideoTask, anonymize_video
    from ldfa.plugin.io.video import probe, read_frames
    from ldfa.plugin.metrics.temporal_core import measure_clip
    from ldfa.plugin.models.embedders import load_embedder

    work = Path(tempfile.mkdtemp(prefix="ldfa-bench-keyframes-"))
    clip = cut(shared_clip("walkway.mp4"), work / "walkway.mp4", args.frames, args.scale)
    info = probe(clip)
    started = time.perf_counter()
    found = detected(clip)
    tasks, boxes = face_tasks(found)
    total = sum(map(len, tasks))
    marked = sum(t.landmarks is not None for frame in tasks for t in frame)
    print(f"walkway.mp4, first {info.frames} frames at {info.width}x{info.height}: {total} faces "
          f"({marked} with landmarks), {len({t for frame in boxes for _, t in frame})} tracks; "
          f"detection {time.perf_counter() - started:.0f} s; painter: {args.painter}")
    params, factory = painter_of(args.painter, work)
    embedder = load_embedder("facenet")
    print(f"{'K':>3} {'diffused':>9} {'s/frame':>8} {'flicker':>15} {'leaks':>6} {'same/track':>11} "
          f"{'to orig':>8} {'tracks judged':>14}")
    for every in args.every:
        config = AnonymizationConfig.build(method="ldfa", video_keyframes=every, video_codec="lossless", **params)
        painter, calls = factory(config), []

        def counted(jobs, painter=painter, calls=calls):
            calls.extend(jobs)
            return painter(jobs)

        target = work / f"k{every}.mkv"
        start = time.perf_counter()
        result = anonymize_video(VideoTask("bench", str(clip), str(target), tuple(tasks)), config, counted)
        seconds = time.perf_counter() - start
        if result.error:
            print(f"{every:>3} FAILED: {result.error}")
            continue
        measure = measure_clip(read_frames(clip), read_frames(target), boxes, embedder=embedder)
        judged = [t for t in measure.tracks.values() if t.same_anonymized is not None]
        same = sum(t.same_anonymized for t in judged) / len(judged) if judged else None
        away = [t.to_original for t in judged if t.to_original is not None]
        flicker = measure.flicker
        print(f"{every:>3} {len(calls):>9} {seconds / info.frames:>8.2f} "
              f"{_num(flicker[0]):>6} ({_num(flicker[1])}) {measure.leaks:>6} {_num(same, 3):>11} "
              f"{_num(sum(away) / len(away) if away else None, 3):>8} {len(judged):>6} of {len(measure.tracks)}")
    print(f"FaceNet's same-person threshold: {embedder.threshold}")


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
