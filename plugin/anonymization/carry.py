"""A diffused face carried to the next frames of its track: aligned on the 5 landmarks, colour-matched.

Diffusing every face of every frame is the cost of a video; a person's face changes little over a
few frames. A keyframe's generated face (its paste region's new pixels) is moved onto a later
frame's face by the similarity transform (``cv2.estimateAffinePartial2D``: shift, turn, scale)
that takes the keyframe's landmarks to the frame's, then shifted in colour as the original face
changed between the two frames (CIE Lab: the lightness's mean and spread and the colour's mean,
over the original face's pixels the alignment lays on each other), so the carried face follows
the person's lighting without copying their face, and a change of the box's content (boxes
jitter, the background behind a walking person changes) is not taken for one of light.

Privacy first: no pixel of the frame's face region keeps the original. Only the keyframe's
*generated* pixels (its face shape, never its blend ring, which holds the keyframe's own
surroundings) are carried into the frame's face; the rest of the frame's paste region (the part
of its box the moved face does not reach, a thin band where the boxes jitter, and its blend
ring) is filled from those generated pixels (``cv2.inpaint``), never from the frame. A frame
whose alignment is poor is not carried (``align`` returns None) and is diffused itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

# The alignment rule: a similarity beyond these is a pose change, or landmarks gone wrong, that one
# moved face cannot follow. Measured on walkway.mp4's first 24 frames at 960x540 (faces of one
# track 1 to 3 frames apart, 847 pairs, the default detector): 98 % within scale 0.82-1.16, 99 %
# turned at most 10 degrees (median 1.4), landmark misfit at most 4.8 % of the face's size in 99 %
# (median 1.1 %); 0.9 % of the pairs fall outside the rule.
SCALE_RANGE = (0.8, 1.25)  # the face's size may change by this factor
MAX_TURN_DEGREES = 15.0
MAX_MISFIT = 0.06  # RMS distance of the landmarks after the transform, over the face's shorter side
# The part of the frame's face shape the moved face may leave to be filled from its edges. Boxes
# jitter around the face by a few pixels, so the keyframe's face alone covers the frame's whole
# box in only 2 % of the pairs above; a median 11 % of the shape is left (95 %: at most 24 %).
MAX_FILLED = 0.25
# How much the lightness's spread (contrast) may change. The colour channels' spread inside a face
# is a few units, its ratio noise (0.8 to 1.9 between neighbouring frames): only their mean moves.
GAIN_RANGE = (0.8, 1.25)


@dataclass
class Keyframe:
    """A track's last diffused face: where it was and what it became (``pixels``: the paste
    region's new pixels; a reason when diffusion could not run; None until it has run)."""

    frame: int
    marks: np.ndarray  # (5, 2) landmarks in pixels
    paste: tuple[int, int, int, int]
    shape: np.ndarray  # bool over ``paste``: the face, diffused
    original: np.ndarray  # the original pixels of ``paste``: what the colour match compares
    pixels: np.ndarray | str | None = None


@dataclass(frozen=True)
class Alignment:
    """How a keyframe's face lands on a frame's paste region: the matrix taking the frame's
    patch coordinates to the keyframe's (``cv2.WARP_INVERSE_MAP``) and where the keyframe's
    generated pixels land."""

    matrix: np.ndarray  # 2 x 3
    reached: np.ndarray  # bool over the frame's paste: a pixel the keyframe's face covers


def align(key: Keyframe, marks: np.ndarray, paste, shape: np.ndarray) -> Alignment | None:
    """Where ``key``'s face lands on a frame's face (its landmarks ``marks``, paste region and
    shape), or None when the alignment is poor: no similarity, its scale or turn beyond the
    rule's, the landmarks' misfit too large, or more than ``MAX_FILLED`` of the face left to fill."""
    found, _ = cv2.estimateAffinePartial2D(key.marks.astype(np.float32), marks.astype(np.float32),
                                           method=cv2.RANSAC, ransacReprojThreshold=math.inf)
    if found is None:
        return None
    scale, turn = math.hypot(found[0, 0], found[1, 0]), math.degrees(math.atan2(found[1, 0], found[0, 0]))
    size = min(np.ptp(shape.nonzero()[1]) + 1, np.ptp(shape.nonzero()[0]) + 1)
    misfit = np.sqrt(((key.marks @ found[:, :2].T + found[:, 2] - marks) ** 2).sum(axis=1).mean())
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1] or abs(turn) > MAX_TURN_DEGREES or misfit > MAX_MISFIT * size:
        return None
    # patch coordinates: frame patch -> frame -> keyframe -> keyframe patch
    shift = np.array([[1, 0, -key.paste[0]], [0, 1, -key.paste[1]], [0, 0, 1]], dtype=np.float64)
    back = np.vstack([cv2.invertAffineTransform(found), [0, 0, 1]])
    place = np.array([[1, 0, paste[0]], [0, 1, paste[1]], [0, 0, 1]], dtype=np.float64)
    matrix = (shift @ back @ place)[:2]
    size_out = (paste[2] - paste[0], paste[3] - paste[1])
    # a pixel is reached when every source pixel its interpolation reads is generated
    reached = cv2.warpAffine(key.shape.astype(np.float32), matrix, size_out,
                             flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0) >= 0.999
    if (shape & ~reached).sum() > MAX_FILLED * shape.sum():
        return None
    return Alignment(matrix, reached)


def carry(key: Keyframe, alignment: Alignment, image: np.ndarray, paste, shape: np.ndarray) -> np.ndarray:
    """New pixels for a frame's paste region: ``key``'s generated face moved by ``alignment``,
    the rest filled from it, colour-shifted as the original changed from the keyframe to ``image``."""
    size = (paste[2] - paste[0], paste[3] - paste[1])
    moved, was = (cv2.warpAffine(pixels, alignment.matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE) for pixels in (key.pixels, key.original))
    missing = (~alignment.reached).astype(np.uint8)
    if missing.any():
        moved = cv2.inpaint(moved, missing, 3, cv2.INPAINT_TELEA)
    x1, y1, x2, y2 = paste
    both = alignment.reached & shape  # the face's parts seen in both frames
    was, now = _lab(was)[both], _lab(image[y1:y2, x1:x2])[both]
    gain = np.clip(now[:, 0].std() / max(was[:, 0].std(), 1e-3), *GAIN_RANGE)
    lab = (_lab(moved) - was.mean(axis=0)) * [gain, 1, 1] + now.mean(axis=0)
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


class KeyframePainter:
    """The inpainter of one video when a track's face is diffused only every ``every`` frames.

    Frames come in order, a batch at a time; each track (each face seed: one per track and
    attempt) keeps only its last keyframe, so memory stays flat. A face is diffused, and becomes
    its track's keyframe, when it is the first of its track, ``every`` frames after the last
    keyframe, or cannot be carried (no landmarks, no keyframe with a face, poor alignment);
    every other face is carried from its keyframe, which may lie in the same batch."""

    def __init__(self, inpainter, every: int):
        self.inpainter, self.every = inpainter, every
        self.keys: dict[int, Keyframe] = {}

    def batch(self, start: int, faces: dict) -> Callable[[list], list]:
        """The inpainter for the batch of frames from ``start``: ``faces`` maps each face job's
        (id of its frame's pixels, paste region, seed) to its frame and landmarks in pixels
        (None: a face without them, or without a track)."""
        self.keys = {seed: key for seed, key in self.keys.items() if start - key.frame < self.every}
        return lambda jobs: self._paint(jobs, faces)

    def _paint(self, jobs: list, faces: dict) -> list[np.ndarray | str]:
        planned = []  # (job, its keyframe, alignment: None to diffuse it)
        for job in jobs:
            frame, marks = faces[(id(job.image), job.paste, job.seed)]
            key = self.keys.get(job.seed)
            if marks is not None and key is not None and frame - key.frame < self.every \
                    and not isinstance(key.pixels, str):
                alignment = align(key, marks, job.paste, job.shape)
                if alignment is not None:
                    planned.append((job, key, alignment))
                    continue
            new = None  # a face without landmarks is diffused, and is no keyframe
            if marks is not None:
                x1, y1, x2, y2 = job.paste
                new = self.keys[job.seed] = Keyframe(frame, marks, job.paste, job.shape,
                                                      job.image[y1:y2, x1:x2].copy())
            planned.append((job, new, None))
        keyframes = [job for job, _, alignment in planned if alignment is None]
        diffused = iter(self.inpainter(keyframes) if keyframes else [])
        out = []
        for job, key, alignment in planned:
            if alignment is None:
                pixels = next(diffused)
                if key is not None:
                    key.pixels = pixels
            elif isinstance(key.pixels, str):  # its keyframe could not be diffused: the fallback's
                pixels = key.pixels
            else:
                pixels = carry(key, alignment, job.image, job.paste, job.shape)
            out.append(pixels)
        return out
