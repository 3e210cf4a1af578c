"""Face tracking on real clips: what ByteTrack, gap filling and padding add to the detector alone.

    .venv/bin/python bench/tracking.py [--clips walkway hamilton ...] [--cache /tmp/v]

Runs ldfa's default face detector (``find_faces`` at ``DetectorConfig.build()``'s defaults) on
the frames of the clips of ../shared/data/videos (the MP4s and GIFs decoded with PyAV, the MOT17
sequences read from img1/*.jpg; hamilton's first 120 frames and concourse's first 40, about
1.5 s a 1080p frame on two CPU cores) and caches the raw faces per clip in
``<cache>/dets-<clip>.npz`` (delete them after changing the detector), so reruns with other
tracker settings take a minute. Then, per clip and tracker setting, ``track_faces`` and a table:

- ``det/f``: detector faces per frame; ``tracks``: track ids; ``solo``: tracks of one detection;
- ``merged``: detector faces merged into another face's box of their frame (one box per face);
- ``interp`` / ``pad``: boxes filled inside a track's span (gaps) / before and after it;
- ``far``: of ``interp``, those across a gap whose ends lie so far apart that the face would move
  more than ``NEAR`` of its size a frame: most likely two faces joined by mistake;
- ``miss``: frames where the detector alone leaks a face: a face found in the frames on both
  sides (up to ``MISS_SPAN`` frames apart; the same face: ``same_face``) but in no frame
  between; ``edge``: a face found in a frame and in none of the next ``MISS_SPAN + 1`` (or
  previous) frames: the frame next to it leaks unless the face really left;
- ``miss ok`` / ``edge ok``: of those, the frames the tracker's output covers (its boxes in
  that frame cover >= 70 % of the face's box, linearly interpolated between its neighbours or
  carried from the last frame it was seen);
- ``ms/f``: tracking time per frame (detection excluded).
"""

from __future__ import annotations

import argparse
import configparser
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ldfa.plugin.detection.track_config import TrackConfig
from ldfa.plugin.detection.tracks import track_faces
from ldfa.plugin.models.detector.backends import Face

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
CLIPS = {  # name: (path, frames to read: None for all)
    "walkway": (VIDEOS / "walkway.mp4", None),
    "hamilton": (VIDEOS / "hamilton.mp4", 120),
    "concourse": (VIDEOS / "concourse-overhead.mp4", 40),
    "gif-walk": (VIDEOS / "face-demographics-walking.gif", None),
    "gif-pause": (VIDEOS / "face-demographics-walking-and-pause.gif", None),
    **{f"mot{p.name[6:8]}": (p / "img1", None) for p in sorted((VIDEOS / "mot17-mini").glob("MOT17-*"))},
}
NEAR = 0.75  # a face moves less than this share of its size in a few frames
COVERED = 0.7  # a face's box is covered when the output boxes of its frame hold this share of it
MISS_SPAN = 3  # frames apart the two sides of a detector miss may be


def read_clip(path: Path, frames: int | None) -> tuple[list[np.ndarray], float]:
    """RGB frames of a video (PyAV) or an img1 folder of JPEGs, and the frame rate."""
    if path.is_dir():
        from ldfa.plugin.io.images import read_rgb

        files = sorted(path.glob("*.jpg"))[:frames]
        info = configparser.ConfigParser()
        info.read(path.parent / "seqinfo.ini")
        return [read_rgb(str(f))[0] for f in files], float(info["Sequence"]["frameRate"])
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate)
        images = []
        for frame in container.decode(video=0):
            images.append(frame.to_ndarray(format="rgb24"))
            if frames is not None and len(images) == frames:
                break
    return images, rate


def detect_clip(name: str, cache: Path) -> tuple[list[list[Face]], int, int, float]:
    """The detector's faces of every frame of a clip, from the cache when there."""
    path, frames = CLIPS[name]
    file = cache / f"dets-{name}.npz"
    if not file.exists():
        from ldfa.plugin.detection.core import find_faces
        from ldfa.plugin.models.detector.config import DetectorConfig

        images, rate = read_clip(path, frames)
        config, found, start = DetectorConfig.build(), [], time.perf_counter()
        for image in images:
            found += find_faces([image], [()], config)
        print(f"{name}: detected {len(images)} frames in {time.perf_counter() - start:.0f} s")
        save(file, found, images[0].shape[1], images[0].shape[0], rate)
    return load(file)


def save(file: Path, found: list[list[Face]], width: int, height: int, rate: float) -> None:
    faces = [(i, f) for i, fs in enumerate(found) for f in fs]
    no_marks = np.full((5, 2), np.nan)
    file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(file, frame=np.array([i for i, _ in faces], dtype=int).reshape(-1),
             box=np.array([f.box for _, f in faces], dtype=float).reshape(-1, 4),
             score=np.array([np.nan if f.score is None else f.score for _, f in faces], dtype=float),
             landmarks=np.array([no_marks if f.landmarks is None else f.landmarks for _, f in faces],
                                dtype=float).reshape(-1, 5, 2),
             source=np.array([f.source for _, f in faces], dtype=str),
             size=np.array([len(found), width, height]), rate=np.array(rate))


def load(file: Path) -> tuple[list[list[Face]], int, int, float]:
    data = np.load(file)
    frames, width, height = (int(v) for v in data["size"])
    found: list[list[Face]] = [[] for _ in range(frames)]
    for i, box, score, marks, source in zip(data["frame"], data["box"], data["score"], data["landmarks"],
                                            data["source"]):
        found[i].append(Face(box, None if np.isnan(score) else float(score),
                             None if np.isnan(marks).any() else marks, str(source)))
    return found, width, height, float(data["rate"])


def same_face(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which of ``others`` (a few frames away) show the face of ``box``: centres less than ``NEAR``
    of its size apart and sizes within 1.5 times. Overlap (IoU) would part a 10 px face from itself
    a frame on; a distance growing with the frames apart would join the neighbours of a crowd."""
    centre = lambda b: (b[..., :2] + b[..., 2:]) / 2  # noqa: E731
    size = lambda b: np.min(b[..., 2:] - b[..., :2], axis=-1)  # noqa: E731
    ratio = size(others) / size(box)
    near = np.linalg.norm(centre(others) - centre(box), axis=-1) < NEAR * size(box)
    return near & (ratio < 1.5) & (ratio > 1 / 1.5)


def _covered(box: np.ndarray, others: np.ndarray) -> bool:
    """Whether ``others`` together (what gets anonymized) cover ``COVERED`` of ``box``: the share of
    a 32 x 32 grid of points on it that fall in one of them."""
    xs, ys = (np.linspace(lo, hi, 32) for lo, hi in ((box[0], box[2]), (box[1], box[3])))
    x, y = (v.ravel()[:, None] for v in np.meshgrid(xs, ys))
    inside = (x >= others[:, 0]) & (x <= others[:, 2]) & (y >= others[:, 1]) & (y <= others[:, 3])
    return bool(inside.any(axis=1).mean() >= COVERED)


def detector_misses(found: list[list[Face]]) -> tuple[list[tuple[int, np.ndarray]], list[tuple[int, np.ndarray]]]:
    """Frames where the detector alone leaks a face, with the face's expected box there: gaps (a
    face found on both sides, in none of up to MISS_SPAN frames between) and edges (a face found
    in a frame, in none of the MISS_SPAN + 1 frames after, or before: the frame next to it)."""
    boxes = [np.array([f.box for f in faces], dtype=float).reshape(-1, 4) for faces in found]
    gaps, edges = [], []
    for step in (1, -1):
        for s in range(len(found)):
            for box in boxes[s]:
                ahead = [(u, same_face(box, boxes[u])) for u in range(s + step, s + step * (MISS_SPAN + 2), step)
                         if 0 <= u < len(found)]
                if not ahead or ahead[0][1].any():
                    continue  # the clip ends here, or the face is there in the next frame
                seen = [(u, same) for u, same in ahead if same.any()]
                if not seen:
                    edges.append((s + step, box))
                elif step == 1:  # a gap counts once, from its start
                    u, same = seen[0]
                    other = boxes[u][int(np.argmax(same))]
                    gaps += [(t, box + (other - box) * (t - s) / (u - s)) for t in range(s + 1, u)]
    return gaps, edges


def jitter(found: list[list[tuple[Face, int]]]) -> float:
    """Mean change of a track's detected box from one frame to the next beyond the steady motion
    (second difference of the corners, over the box's shorter side), in %."""
    tracks = [{t: np.asarray(f.box, dtype=float) for t, f in track if f.source != "track"}
              for track in _by_track(found).values()]
    wobble = [np.abs(b[t - 1] - 2 * b[t] + b[t + 1]).mean() / min(b[t][2:] - b[t][:2])
              for b in tracks for t in b if t - 1 in b and t + 1 in b]
    return 100 * float(np.mean(wobble)) if wobble else 0.0


def measure(clip: tuple[list[list[Face]], int, int, float], config: TrackConfig) -> dict[str, float]:
    """The figures of one clip at one setting (see the module's docstring)."""
    found, width, height, rate = clip
    start = time.perf_counter()
    tracked = track_faces(found, width, height, rate, config)
    elapsed = time.perf_counter() - start
    out = [np.array([f.box for f, _ in faces], dtype=float).reshape(-1, 4) for faces in tracked]
    gaps, edges = detector_misses(found)
    detected = [f for fs in tracked for f, _ in fs if f.source != "track"]
    inside = [[((b[:, :2] <= f.box[:2] + 1e-3) & (b[:, 2:] >= f.box[2:] - 1e-3)).all(axis=1).any() for f in fs]
              for fs, b in zip(found, out)]
    tracks = list(_by_track(tracked).values())
    spans = [sorted(t for t, f in track if f.source != "track") for track in tracks]
    raw_area = sum(np.prod(f.box[2:] - f.box[:2]) for fs in found for f in fs)
    filled = [(t, s) for track, s in zip(tracks, spans) for t, f in track if f.source == "track"]
    interp = sum(bool(s) and s[0] < t < s[-1] for t, s in filled)  # a frame merged into another face: not filled
    return {
        "frames": len(found), "in": sum(map(len, found)), "left out": sum(not i for fs in inside for i in fs),
        "merged": sum(map(len, found)) - len(detected),
        "tracks": len(spans), "solo": sum(len(s) == 1 for s in spans),
        "interp": interp, "far": far_joins(tracked),
        "pad": len(filled) - interp,
        "miss": len(gaps), "miss ok": sum(_covered(box, out[t]) for t, box in gaps),
        "edge": len(edges), "edge ok": sum(_covered(box, out[t]) for t, box in edges),
        "jit %": jitter(tracked) * len(found), "grow %": 0.0 if not raw_area else
        100 * (sum(np.prod(f.box[2:] - f.box[:2]) for f in detected) / raw_area - 1) * len(found),
        "ms/f": 1000 * elapsed,
    }


def _by_track(tracked: list[list[tuple[Face, int]]]) -> dict[int, list[tuple[int, Face]]]:
    found: dict[int, list[tuple[int, Face]]] = {}
    for t, faces in enumerate(tracked):
        for face, track in faces:
            found.setdefault(track, []).append((t, face))
    return found


def far_joins(tracked: list[list[tuple[Face, int]]]) -> int:
    """Frames filled across a gap whose two ends lie so far apart that the face would move more
    than ``NEAR`` of its size a frame: most likely two faces joined by mistake."""
    count = 0
    for track in _by_track(tracked).values():
        seen = [(t, np.asarray(f.box, dtype=float)) for t, f in track if f.source != "track"]
        for (s, a), (u, b) in zip(seen, seen[1:]):
            step = np.abs((a[:2] + a[2:]) - (b[:2] + b[2:])).max() / 2 / (u - s)
            count += (u - s - 1) * (step > NEAR * min(a[2:] - a[:2]))
    return int(count)


PER_FRAME = ("jit %", "grow %", "ms/f")  # averaged over frames; the other figures are counts


def table(title: str, rows: dict[str, list[dict[str, float]]]) -> None:
    """One line per row: counts summed over its clips, per-frame figures averaged."""
    print(f"\n{title}")
    names = ("det/f", "tracks", "solo", "merged", "interp", "far", "pad", "miss", "miss ok", "edge", "edge ok",
             *PER_FRAME)
    print(f"{'':>22}" + "".join(f"{n:>9}" for n in names))
    for label, results in rows.items():
        total = {k: sum(r[k] for r in results) for k in results[0]}
        assert not total["left out"], f"{label}: {int(total['left out'])} faces in no box of their frame"
        total["det/f"] = total["in"] / total["frames"]
        for k in PER_FRAME:
            total[k] /= total["frames"]
        print(f"{label:>22}" + "".join(f"{total[n]:>9.1f}" if n in ("det/f", *PER_FRAME) else f"{int(total[n]):>9}"
                                       for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/v"))
    args = parser.parse_args()
    missing = [name for name in args.clips if not CLIPS[name][0].exists()]
    if missing:
        print(f"left out, not in {VIDEOS}: {', '.join(missing)}")
    clips = {name: detect_clip(name, args.cache) for name in args.clips if name not in missing}
    default = TrackConfig()
    print(f"defaults: {default}")
    table("per clip, defaults", {name: [measure(clip, default)] for name, clip in clips.items()})
    # max_gap and high at no padding too: what joining and interpolating alone cover
    sweeps = {"pad_frames": (0, 1, 2, 3, 5), "max_gap": (1, 5, 15, 30, 60), "high": (0.2, 0.3, 0.5, 0.7),
              "smooth": (0, 1, 2, 3)}
    for field, values in sweeps.items():
        pads = (default.pad_frames, 0) if field in ("max_gap", "high") else (default.pad_frames,)
        configs = {f"{field}={v}" + (f" pad={pad}" if len(pads) > 1 else ""):
                   replace(default, **{"pad_frames": pad, field: v}) for pad in pads for v in values}
        table(f"all clips, {field}", {label: [measure(clip, config) for clip in clips.values()]
                                       for label, config in configs.items()})
    no_tracking = replace(default, pad_frames=0, max_gap=0, smooth=0)
    table("detector alone (no padding, no joining, no smoothing)",
          {"none": [measure(clip, no_tracking) for clip in clips.values()]})


if __name__ == "__main__":
    main()
