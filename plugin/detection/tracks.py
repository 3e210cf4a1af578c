"""Faces followed across the frames of a video or sequence, so no frame leaks a face the detector
missed there: a face found before and after a frame is covered in it too.

ByteTrack (Roboflow's ``trackers`` package, supervision's own ByteTrack being gone) links the
detector's faces frame to frame; every face it leaves out (a track's first face among them)
joins, by overlap, a track found in the frame before or after it, or starts its own: no face is
ever dropped. Each track is then filled: boxes interpolated across the frames it was lost,
carried ``pad_frames`` before its first and after its last face, and grown by a temporal
smoothing so the anonymized region does not jitter (but never shrinks below a detected box).
Last, each frame holds one box per face: a box that a track filled or grew onto a face another
track holds there is merged as a still image's are (``core.merge_nested``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from ldfa.plugin.detection.core import merge_nested
from ldfa.plugin.detection.track_config import TrackConfig
from ldfa.plugin.geometry.boxes import iou
from ldfa.plugin.models.detector.backends import Face
from ldfa.plugin.schema import CANDIDATE_SOURCE, TRACK_SOURCE

JOIN_IOU = 0.3  # a face the tracker left out joins a track whose box overlaps its own this much


def track_faces(frames: list[list[Face]], width: int, height: int, rate: float,
                config: TrackConfig = TrackConfig()) -> list[list[tuple[Face, int]]]:
    """Per frame, every face of ``frames`` in its order with its track id (ints from 0, unique in
    the clip), then the faces the tracks fill in (source "track", score None, clipped to the
    ``width`` x ``height`` frame); every box grown by the smoothing, then one box per face (a box
    mostly inside another face's is merged into it: ``_one_box_per_face``). Weak candidates
    (source ``candidate``: no detection pass kept them) are ByteTrack's low-score detections:
    kept where they continue the track of a face that was kept, left out otherwise (they never
    start one)."""
    config.validate()
    ids = _confirmed(frames, _join_left_out(frames, _tracker_ids(frames, rate, config)))
    frames = [[f for f, k in zip(faces, found) if k is not None] for faces, found in zip(frames, ids)]
    ids = [[k for k in found if k is not None] for found in ids]
    kept: list[list] = [[None] * len(faces) for faces in frames]
    added: list[list[tuple[Face, int]]] = [[] for _ in frames]
    for track, members in enumerate(_tracks(ids)):
        for t, i, face in _filled(frames, members, width, height, config):
            if i is None:
                added[t].append((face, track))
            else:
                kept[t][i] = (face, track)
    return _one_box_per_face([faces + more for faces, more in zip(kept, added)])


def _one_box_per_face(frames: list[list[tuple[Face, int]]]) -> list[list[tuple[Face, int]]]:
    """Each frame's faces with every box lying mostly inside another merged into the better one,
    grown to cover both, with its track id (``merge_nested``); ids renumbered from 0 should a
    track lose all its frames. Better: the box a pass found here, then a weak candidate its track
    kept, then a box the track filled in (what the frame itself shows of the face, with its
    landmarks, over a guess); then the track with more faces found (the face keeps the id, so
    the seed and keyframes, of the track that holds it most of the clip, not of one that lands
    on it for a few frames), then the older track. A frame a track lost this way is covered by
    the survivor's box, which leaks nothing the merged box held."""
    found = Counter(k for faces in frames for f, k in faces if f.source != TRACK_SOURCE)
    rank = {CANDIDATE_SOURCE: 1, TRACK_SOURCE: 2}
    merged = []
    for faces in frames:
        better = sorted(range(len(faces)), key=lambda i: (rank.get(faces[i][0].source, 0), -found[faces[i][1]],
                                                          faces[i][1]))
        merged.append([(replace(faces[m.keep][0], box=m.box), faces[m.keep][1]) if m.absorbed else faces[m.keep]
                       for m in merge_nested([f.box for f, _ in faces], better)])
    number = {k: n for n, k in enumerate(sorted({k for faces in merged for _, k in faces}))}
    return [[(f, number[k]) for f, k in faces] for faces in merged]


def _tracker_ids(frames: list[list[Face]], rate: float, config: TrackConfig) -> list[list[int | None]]:
    """ByteTrack's id of each face, None where it gave none (a track's first face among them)."""
    tracker = ByteTrackTracker(lost_track_buffer=config.max_gap, frame_rate=rate, minimum_consecutive_frames=1,
                               track_activation_threshold=config.high, high_conf_det_threshold=config.high)
    ids: list[list[int | None]] = []
    for faces in frames:
        scores = np.array([1.0 if f.score is None else min(f.score, _below(config.high)) if _weak(f) else f.score
                           for f in faces], dtype=np.float32)
        kept = np.flatnonzero(scores >= config.low)
        boxes = np.array([faces[i].box for i in kept], dtype=np.float32).reshape(-1, 4)
        tracked = tracker.update(sv.Detections(xyxy=boxes, confidence=scores[kept], data={"face": kept}))
        found: list[int | None] = [None] * len(faces)
        for i, track in zip(tracked.data.get("face", []), tracked.tracker_id):
            found[int(i)] = None if track < 0 else int(track)
        ids.append(found)
    return ids


def _join_left_out(frames: list[list[Face]], ids: list[list[int | None]]) -> list[list[int]]:
    """Every face with an id: one the tracker left out joins the track that overlaps it best in
    the frame before or after (a track not already in its frame), else it starts a new one."""
    boxes = [{k: f.box for f, k in zip(faces, found) if k is not None} for faces, found in zip(frames, ids)]
    next_id = max((k for frame in boxes for k in frame), default=-1) + 1
    joined = [list(found) for found in ids]
    for t, faces in enumerate(frames):
        left = [i for i, k in enumerate(joined[t]) if k is None and not _weak(faces[i])]
        near = {k: box for s in (t - 1, t + 1) if 0 <= s < len(frames) for k, box in boxes[s].items()
                if k not in boxes[t]}
        if left and near:
            tracks = list(near)
            overlaps = iou([faces[i].box for i in left], [near[k] for k in tracks])
            for a, b in zip(*np.unravel_index(np.argsort(-overlaps, axis=None), overlaps.shape)):
                i, k = left[a], tracks[b]
                if overlaps[a, b] >= JOIN_IOU and joined[t][i] is None and k not in boxes[t]:
                    joined[t][i] = k
                    boxes[t][k] = faces[i].box
        for i in left:
            if joined[t][i] is None:
                joined[t][i], next_id = next_id, next_id + 1
                boxes[t][joined[t][i]] = faces[i].box
    return joined


def _weak(face: Face) -> bool:
    return face.source == CANDIDATE_SOURCE


def _below(high: float) -> float:
    """A score just under ``high``: a weak candidate is a low-score detection to ByteTrack, whatever it scored."""
    return float(np.nextafter(np.float32(high), np.float32(0)))


def _confirmed(frames: list[list[Face]], ids: list[list[int | None]]) -> list[list[int | None]]:
    """The ids with every weak candidate's None unless its track holds a face that was kept."""
    kept = {k for faces, found in zip(frames, ids) for f, k in zip(faces, found) if k is not None and not _weak(f)}
    return [[k if k in kept else None for k in found] for found in ids]


def _tracks(ids: list[list[int]]) -> list[list[tuple[int, int]]]:
    """Each track's (frame, face index) members, tracks in order of first appearance."""
    members: dict[int, list[tuple[int, int]]] = {}
    for t, found in enumerate(ids):
        for i, k in enumerate(found):
            members.setdefault(k, []).append((t, i))
    return list(members.values())


def _filled(frames: list[list[Face]], members: list[tuple[int, int]], width: int, height: int,
            config: TrackConfig) -> list[tuple[int, int | None, Face]]:
    """One track's faces over its span and padding, with their frame and their index there (None
    for a filled one): detected faces as found (box grown by the smoothing), the frames between
    them interpolated, ``pad_frames`` more at each end."""
    index = dict(members)
    detected = {t: frames[t][i] for t, i in members}
    first, last = min(detected), max(detected)
    span = range(first, last + 1)
    faces = {t: detected[t] if t in detected else _between(detected, t) for t in span}
    smoothed = _smoothed(np.array([faces[t].box for t in span], dtype=np.float64), config.smooth)
    limit = np.array([width, height, width, height], dtype=np.float64)
    out = []
    for t, box in zip(span, smoothed):
        grown = np.concatenate([np.minimum(faces[t].box[:2], box[:2]), np.maximum(faces[t].box[2:], box[2:])])
        face = replace(faces[t], box=grown if t in detected else np.clip(grown, 0, limit))
        out.append((t, index.get(t), face))
    pad, start, end = config.pad_frames, out[0][2].box, out[-1][2].box
    for t in [*range(max(0, first - pad), first), *range(last + 1, min(len(frames), last + 1 + pad))]:
        box = np.clip(start if t < first else end, 0, limit)
        if box[2] > box[0] and box[3] > box[1]:
            out.append((t, None, Face(box, None, None, TRACK_SOURCE)))
    return out


def _between(detected: dict[int, Face], t: int) -> Face:
    """The face at frame ``t`` of a gap, interpolated linearly between the detections around it."""
    before = max(s for s in detected if s < t)
    after = min(s for s in detected if s > t)
    w = (t - before) / (after - before)
    a, b = detected[before], detected[after]
    marks = None if a.landmarks is None or b.landmarks is None else (1 - w) * a.landmarks + w * b.landmarks
    return Face((1 - w) * np.asarray(a.box, dtype=np.float64) + w * np.asarray(b.box, dtype=np.float64),
                None, marks, TRACK_SOURCE)


def _smoothed(boxes: np.ndarray, half: int) -> np.ndarray:
    """The mean box over ``half`` frames each side (fewer at the ends of the track)."""
    if half == 0:
        return boxes
    sums = np.vstack([np.zeros((1, 4)), np.cumsum(boxes, axis=0)])
    low = np.maximum(np.arange(len(boxes)) - half, 0)
    high = np.minimum(np.arange(len(boxes)) + half + 1, len(boxes))
    return (sums[high] - sums[low]) / (high - low)[:, None]


