"""Metrics over time: one clip (a video, or a sequence of images) at a time, no database.

An anonymized clip is read beside its original, frame by frame in lockstep (two frames in memory
whatever the clip's length), with each frame's faces as pixel boxes and track ids. Per track:

- **leaks**: frames whose face box still holds the original face. Re-encoding (H.264, GIF
  palettes) moves unchanged pixels by several grey levels, and a blur moves some by no more, so
  the rule compares *detail*, not pixels: the box's grey detail (grey minus its Gaussian blur of
  ``DETAIL_SIGMA`` px) kept in the anonymized box, ``1 - sum((dA - dO)^2) / sum(dO^2)``, is at
  least ``LEAK_DETAIL_KEPT`` (measured on the classic methods: see there). A box whose original
  is flat (detail under ``MIN_DETAIL``) has no face to leak and is never one.
- **flicker**: the mean absolute grey change inside the face box between consecutive frames of
  the track, anonymized and original side by side (a replacement that changes every frame adds
  to the motion the original already has).
- **identity consistency**: at most ``SAMPLES_PER_TRACK`` frames of the track, evenly spaced (to
  bound the embedder's cost), are embedded: the mean distance between the track's anonymized
  faces (one new person: small), beside the mean distance of each to its original (large) and
  between the original faces (the embedder's own spread on one real person). Faces below the
  embedder's ``min_face_px`` are not measurable: the track gets a reason, not a number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations, zip_longest

import numpy as np
from scipy.ndimage import gaussian_filter

from ldfa.plugin.geometry.crops import FaceBox

DETAIL_SIGMA = 3.0  # px: the blur whose residue is a box's detail
# Detail kept at or above this: the original face is still there. Measured (rewrite_video, each
# method on every face found by the default detector, H.264 crf 18) on all of walkway.mp4 (105
# frames, 2129 face boxes incl. the tracker's, 11-108 px): faces left unchanged keep 0.75 or
# more in 99.8 % of the boxes (1 % under 0.87; the least 0.47, a box of almost no detail); gauss
# keeps at most 0.65 (its 3-px floor on 12-17 px faces), so a rule at 0.6 called 9 blurred boxes
# leaks. On face-demographics-walking.gif (72 faces, 12-27 px) unchanged faces keep 1.00, gauss
# at most 0.41, pixelate 0.04, solid 0.00. A harsher encoder hides more detail: unchanged faces
# kept at least 0.66 at crf 23 and 0.50 at crf 28, so there some leaks go unseen.
LEAK_DETAIL_KEPT = 0.75
# Grey levels, RMS of a box's detail: below it the box is flat, with no face to leak. The real
# faces above have at least 5.1; re-encoding changes detail by 1.6 RMS (median; at most 3.1).
MIN_DETAIL = 1.0
SAMPLES_PER_TRACK = 8
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601, as PIL's "L" mode

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


@dataclass
class TrackMeasure:
    """One track of a clip: its frames, its leaks and its changes over time."""

    frames: int = 0
    leaks: list[int] = field(default_factory=list)  # frame indices (0-based) where the face leaked
    pairs: int = 0  # consecutive frame pairs both holding the track
    change_anonymized: float = 0.0  # summed over the pairs
    change_original: float = 0.0
    same_anonymized: float | None = None  # mean distance between the track's anonymized faces
    to_original: float | None = None  # mean distance of each anonymized face to its original
    same_original: float | None = None  # mean distance between the track's original faces
    reason: str | None = None  # why there is no ``same_anonymized``

    @property
    def flicker(self) -> tuple[float | None, float | None]:
        """Mean change between consecutive frames inside the box: (anonymized, original)."""
        return flicker_of([self])


@dataclass
class ClipMeasure:
    """A clip's tracks by id, the frames compared, and what kept the comparison from being whole."""

    frames: int = 0
    tracks: dict[int, TrackMeasure] = field(default_factory=dict)
    failure: str | None = None

    @property
    def leaks(self) -> int:
        return sum(len(t.leaks) for t in self.tracks.values())

    @property
    def flicker(self) -> tuple[float | None, float | None]:
        return flicker_of(self.tracks.values())


def flicker_of(tracks: Iterable[TrackMeasure]) -> tuple[float | None, float | None]:
    """The mean change over all the tracks' consecutive pairs: (anonymized, original)."""
    tracks = list(tracks)
    pairs = sum(t.pairs for t in tracks)
    if not pairs:
        return None, None
    return sum(t.change_anonymized for t in tracks) / pairs, sum(t.change_original for t in tracks) / pairs


def measure_clip(original_frames: Iterable[np.ndarray], anonymized_frames: Iterable[np.ndarray],
                 faces: list[list[tuple[Box, int]]], embedder=None) -> ClipMeasure:
    """Leaks, flicker and (with an ``ldfa.plugin.models.embedders`` embedder) identity consistency
    of every track; ``faces[i]`` holds frame i's (box, track id). Clips of different lengths are
    compared over their common frames and the mismatch is the clip's ``failure``."""
    clip = ClipMeasure()
    samples = _sampled(faces, embedder)
    vectors: dict[int, list] = {}  # track -> [(original vector or reason, anonymized vector or reason)]
    before, counts, missing = None, [0, 0], object()
    for original, anonymized in zip_longest(original_frames, anonymized_frames, fillvalue=missing):
        counts[0] += original is not missing
        counts[1] += anonymized is not missing
        if original is missing or anonymized is missing or clip.failure:
            continue  # counting the longer clip's frames, or past a frame of another size
        if original.shape != anonymized.shape:
            clip.failure = (f"frame {clip.frames}: anonymized frame is {anonymized.shape[1]}x{anonymized.shape[0]}, "
                            f"original {original.shape[1]}x{original.shape[0]}")
            continue
        here = faces[clip.frames] if clip.frames < len(faces) else []
        _measure_frame(clip, here, original, anonymized, before)
        if samples.get(clip.frames):
            _embed(embedder, samples[clip.frames], original, anonymized, vectors)
        before = (original, anonymized, {track for _, track in here})
        clip.frames += 1
    if counts[0] != counts[1]:
        clip.failure = f"anonymized video has {counts[1]} frames, original {counts[0]}"
    for track, pairs in vectors.items():
        _consistency(embedder, clip.tracks[track], pairs)
    for track in clip.tracks.values():
        if track.reason is None and track.same_anonymized is None:
            track.reason = _unsampled_reason(embedder)
    return clip


def _measure_frame(clip: ClipMeasure, here, original: np.ndarray, anonymized: np.ndarray, before) -> None:
    """Each face of one frame: counted, judged for a leak, and its change since the previous frame."""
    height, width = original.shape[:2]
    for box, track in here:
        measure = clip.tracks.setdefault(track, TrackMeasure())
        measure.frames += 1
        x1, y1, x2, y2 = region(box, width, height)
        if x2 <= x1 or y2 <= y1:
            continue
        grey_original, grey_anonymized = _grey(original[y1:y2, x1:x2]), _grey(anonymized[y1:y2, x1:x2])
        if is_leak(grey_original, grey_anonymized):
            measure.leaks.append(clip.frames)
        if before is not None and track in before[2]:
            measure.pairs += 1
            measure.change_original += float(np.abs(grey_original - _grey(before[0][y1:y2, x1:x2])).mean())
            measure.change_anonymized += float(np.abs(grey_anonymized - _grey(before[1][y1:y2, x1:x2])).mean())


def region(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """The pixels of a box (x1, y1, x2, y2, end-exclusive), rounded outward and clipped to the frame."""
    x1, y1, x2, y2 = box
    return (min(max(0, math.floor(x1)), width), min(max(0, math.floor(y1)), height),
            max(0, min(width, math.ceil(x2))), max(0, min(height, math.ceil(y2))))


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ LUMA


def detail_kept(grey_original: np.ndarray, grey_anonymized: np.ndarray) -> float | None:
    """How much of the original box's detail the anonymized box holds (1: all of it, 0 or less:
    none); None for a box with no detail to keep (flat, or under 2 px a side)."""
    if min(grey_original.shape) < 2:
        return None
    detail_original = grey_original - gaussian_filter(grey_original, DETAIL_SIGMA, mode="nearest")
    energy = float((detail_original ** 2).sum())
    if energy < MIN_DETAIL ** 2 * detail_original.size:
        return None
    detail_anonymized = grey_anonymized - gaussian_filter(grey_anonymized, DETAIL_SIGMA, mode="nearest")
    return 1.0 - float(((detail_anonymized - detail_original) ** 2).sum()) / energy


def is_leak(grey_original: np.ndarray, grey_anonymized: np.ndarray) -> bool:
    """The rule of the module docstring, on two same-size grey boxes."""
    kept = detail_kept(grey_original, grey_anonymized)
    return kept is not None and kept >= LEAK_DETAIL_KEPT


def _sampled(faces, embedder) -> dict[int, list[tuple[int, FaceBox]]]:
    """Frame index -> the (track, face) to embed there: per track at most ``SAMPLES_PER_TRACK``
    of its frames whose face the embedder can judge, evenly spaced."""
    if embedder is None:
        return {}
    judgeable: dict[int, list[tuple[int, FaceBox]]] = {}
    for i, here in enumerate(faces):
        for box, track in here:
            face = FaceBox(np.asarray(box, dtype=np.float64))
            if face.size >= embedder.min_face_px:
                judgeable.setdefault(track, []).append((i, face))
    out: dict[int, list[tuple[int, FaceBox]]] = {}
    for track, found in judgeable.items():
        for k in sorted({round(v) for v in np.linspace(0, len(found) - 1, min(len(found), SAMPLES_PER_TRACK))}):
            i, face = found[k]
            out.setdefault(i, []).append((track, face))
    return out


def _embed(embedder, sampled, original, anonymized, vectors) -> None:
    boxes = [face for _, face in sampled]
    for (track, _), before, after in zip(sampled, embedder.embed(original, boxes), embedder.embed(anonymized, boxes)):
        vectors.setdefault(track, []).append((before, after))


def _consistency(embedder, track: TrackMeasure, pairs: list) -> None:
    """The track's mean distances from its sampled faces' vectors (a string is a reason)."""
    originals = [o for o, _ in pairs if not isinstance(o, str)]
    anonymized = [a for _, a in pairs if not isinstance(a, str)]
    track.same_anonymized = _mean_pairwise(embedder, anonymized)
    track.same_original = _mean_pairwise(embedder, originals)
    judged = [embedder.distance(o, a) for o, a in pairs if not isinstance(o, str) and not isinstance(a, str)]
    track.to_original = float(np.mean(judged)) if judged else None
    if track.same_anonymized is None:
        why = next((a for _, a in pairs if isinstance(a, str)), None)
        track.reason = (f"anonymized faces: {why}" if why else
                        f"{len(anonymized)} of the track's faces measurable by {embedder.name}: 2 needed")


def _mean_pairwise(embedder, vectors: list) -> float | None:
    distances = [embedder.distance(a, b) for a, b in combinations(vectors, 2)]
    return float(np.mean(distances)) if distances else None


def _unsampled_reason(embedder) -> str:
    if embedder is None:
        return "no embedder"
    return f"no face of the track is {embedder.min_face_px} px or more: {embedder.name} cannot judge it"
