"""How much H.264 re-encoding moves pixels outside the faces: the figures behind verify-export's rule.

    PYTHONPATH=tests .venv/bin/python bench/video_codec.py [--frames 60] [--crf 18 23 28]

Per shared clip (../shared/data/videos), its first ``--frames`` frames at full size and
downscaled (more detail per pixel), written by ``rewrite_video`` twice per CRF:

- ``unchanged``: nothing edited, pure re-encoding: the worst frame's and the median frame's mean
  change over all pixels (grey levels, the largest of the three channels);
- ``faces blurred``: the faces the default detector finds blurred (as ``--method gauss`` would),
  then the worst frame's mean change outside the face masks (``converters.verify``'s own measure)
  and the share of those pixels that changed at all.

Then ``--video-codec lossless`` (FFV1) on the first clip: its share must be exactly 0. The rule
``verify-export`` applies (``MAX_VIDEO_MEAN_DIFF`` at CRF 18, ``VIDEO_DIFF_PER_CRF`` a step
above) is printed beside each CRF, to show its margin over re-encoding.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa_testing.videos import cut, shared_clip  # noqa: E402

CLIPS = {"walkway.mp4": (1.0, 0.5, 0.25), "hamilton.mp4": (1.0, 0.5), "concourse-overhead.mp4": (1.0, 0.5)}
MASK = {"grow": 1.0, "ellipse": False, "fade_px": 4}  # the mask verify-export draws for gauss's defaults


def face_boxes(clip: Path) -> list[list[list[float]]]:
    """Per frame the detector's face boxes, relative [x, y, w, h]."""
    from ldfa.plugin.io.video import read_frames
    from ldfa.plugin.models.detector.config import DetectorConfig
    from ldfa.plugin.models.detector.passes import detect

    config, boxes = DetectorConfig.build(), []
    for frame in read_frames(clip):
        height, width = frame.shape[:2]
        boxes.append([[x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height]
                      for x1, y1, x2, y2 in (face.box.tolist() for face in detect([frame], config)[0])])
    return boxes


def blurring(boxes):
    """A ``rewrite_video`` edit that blurs the faces of ``boxes`` inside their masks."""
    import cv2
    import numpy as np

    from ldfa.plugin.geometry.masks import union_mask

    def edit(start: int, frames: list) -> list:
        out = []
        for i, frame in enumerate(frames, start):
            inside = union_mask(frame.shape[1], frame.shape[0], boxes[i], MASK["grow"], MASK["ellipse"],
                                MASK["fade_px"])
            out.append(np.where(inside[..., None], cv2.GaussianBlur(frame, (0, 0), 8), frame))
        return out

    return edit


def unchanged_change(source: Path, target: Path) -> tuple[float, float]:
    """(worst, median) over frames of the mean change over all pixels."""
    import numpy as np

    from ldfa.plugin.io.video import read_frames

    means = [float(np.abs(a.astype(np.int16) - b).max(axis=-1).mean())
             for a, b in zip(read_frames(source), read_frames(target))]
    return max(means), statistics.median(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--crf", type=int, nargs="+", default=[18, 23, 28])
    args = parser.parse_args()

    from ldfa.converters.verify import _frames_outside_masks, max_video_mean_diff
    from ldfa.plugin.io.video import probe, rewrite_video

    work = Path(tempfile.mkdtemp(prefix="ldfa-bench-codec-"))
    print(f"{'clip':<24} {'size':>10} {'CRF':>4} {'unchanged worst/median':>23} "
          f"{'faces blurred: worst outside':>29} {'share changed':>14} {'rule':>5}")
    first = None
    for name, scales in CLIPS.items():
        for scale in scales:
            clip = cut(shared_clip(name), work / f"{Path(name).stem}-{scale}.mp4", args.frames, scale)
            info, boxes = probe(clip), face_boxes(clip)
            first = first or (clip, boxes)
            for crf in args.crf:
                plain, blurred = work / f"plain-{crf}.mp4", work / f"blurred-{crf}.mp4"
                rewrite_video(clip, plain, lambda start, frames: frames, quality=crf)
                rewrite_video(clip, blurred, blurring(boxes), quality=crf)
                worst, median = unchanged_change(clip, plain)
                outside = _frames_outside_masks(clip, blurred, boxes, MASK, None)
                print(f"{name:<24} {info.width:>5}x{info.height:<4} {crf:>4} {worst:>13.2f} / {median:<7.2f} "
                      f"{outside['worst']:>29.2f} {outside['share']:>14.3f} {max_video_mean_diff(crf):>5.2f}",
                      flush=True)
    clip, boxes = first
    lossless = work / "lossless.mkv"
    rewrite_video(clip, lossless, blurring(boxes), codec="lossless")
    outside = _frames_outside_masks(clip, lossless, boxes, MASK, None)
    print(f"lossless (FFV1), {clip.name}: share of pixels outside the faces changed {outside['share']:.6f} "
          f"(must be 0), worst frame {outside['worst']:.2f}")


if __name__ == "__main__":
    main()
