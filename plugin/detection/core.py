"""The detection core: per-image tasks in, per-image faces out, never a database.

``detect_faces`` (``detect.py``) reads the tasks from FiftyOne and writes the results back; an
engine (``ldfa.plugin.engines``) runs ``workers.DetectWorker`` here or on Ray workers, which
import this module without FiftyOne; licence plates take the same path with their own finder.
``detect_image`` is the same core on one image in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ldfa.plugin.detection.people import faces_for_people, people_in
from ldfa.plugin.errors import ImageError
from ldfa.plugin.geometry.boxes import from_corners
from ldfa.plugin.io.images import decode, read_rgb
from ldfa.plugin.models.detector.backends import Face
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.detector.passes import detect
from ldfa.plugin.schema import CANDIDATE_SOURCE

# A box with this share of its area or more inside another face's box is that face found again
# (by the zoom pass, the full frame or a person's closer look). Measured on the shared street,
# crowd and portrait photos: a face found twice nests 0.72-1.0 of the smaller box in the other;
# two people's faces side by side overlap 0.33 of it at most (hand-labelled street faces: 0.15).
# Boxes of one face shifted a few pixels (0.4-0.48, IoU about 0.35) overlap, not nest: left be.
MOSTLY_INSIDE = 0.5


@dataclass
class DetectTask:
    """What detecting one image needs: its path and its people labels (one per people field)."""

    sample_id: str
    filepath: str
    people: tuple
    tracked: bool = False  # a frame of a sequence: its weak candidates go to the tracker too


@dataclass
class DetectResult:
    """One image's faces in its pixels (``size``: width, height), or why it has none."""

    sample_id: str
    filepath: str
    size: tuple[int, int] | None
    faces: list[Face]
    error: str | None = None
    tracks: list[int] | None = None  # each face's track id, in a frame sequence


@dataclass(frozen=True)
class Finder:
    """What finds one kind of region in a batch of same-kind images: ``find(images, labels,
    candidates)`` gives each image's regions (``labels``: each image's labels of the dataset
    that point at more of them: people for faces, plate polygons for plates), ``batch_size``
    images a call."""

    find: Callable[[list, list, bool], list[list[Face]]]
    batch_size: int


def detect_images(tasks: list[DetectTask], found_by: Finder) -> list[DetectResult]:
    """Faces (or plates) of every readable image of ``tasks`` (for faces: the full frame, the
    zoom pass, then a closer look at each person without a face); an unreadable image gets its
    reason."""
    images, readable, results = [], [], {}
    for task in tasks:
        try:
            images.append(read_rgb(task.filepath)[0])
            readable.append(task)
        except ImageError as e:
            results[task.sample_id] = DetectResult(task.sample_id, task.filepath, None, [], str(e))
    found = found_by.find(images, [task.people for task in readable], any(task.tracked for task in readable))
    for task, img, faces in zip(readable, images, found):
        faces = faces if task.tracked else [f for f in faces if f.source != CANDIDATE_SOURCE]
        results[task.sample_id] = DetectResult(task.sample_id, task.filepath,
                                               (img.shape[1], img.shape[0]), faces)
    return [results[task.sample_id] for task in tasks]


def find_faces(images: list, people: list[tuple], config: DetectorConfig,
               candidates: bool = False) -> list[list[Face]]:
    """Faces of each RGB image: the full frame, the zoom pass, then a closer look at each of
    the image's ``people`` labels without a face, one box per face (``one_box_per_face``); with
    ``candidates``, the weak candidates no pass kept follow (source ``candidate``), for the
    tracker of a video or sequence."""
    found = detect(images, config, candidates)
    persons = [[p for label in labels for p in people_in(label, img.shape[1], img.shape[0])]
               for labels, img in zip(people, images)]
    if any(persons):
        kept = [[f for f in faces if f.source != CANDIDATE_SOURCE] for faces in found]
        found = [f + more for f, more in zip(found, faces_for_people(images, kept, persons, config))]
    return [one_box_per_face(faces) for faces in found]


def one_box_per_face(faces: list[Face]) -> list[Face]:
    """The faces with every box that lies mostly inside another (``MOSTLY_INSIDE``) merged into
    it, so a face found twice by different passes is counted, audited and tracked once. The better
    face survives (the higher score; a box from keypoints ranks last) with its score, source
    and landmarks, its box grown to cover both (``merge_nested``): the replaced region still
    covers whatever either box held. A weak candidate nested with a kept face is that face: it is
    dropped, and the kept box does not grow by it (a candidate is not a face until a tracker
    confirms it)."""
    kept = [f for f in faces if f.source != CANDIDATE_SOURCE]
    weak = [f for f in faces if f.source == CANDIDATE_SOURCE]
    better = sorted(range(len(kept)), key=lambda i: (kept[i].score is None, -(kept[i].score or 0.0)))
    kept = [replace(kept[m.keep], box=m.box) if m.absorbed else kept[m.keep]
            for m in merge_nested([f.box for f in kept], better)]
    if kept and weak:
        inside = _shares([f.box for f in kept + weak])[len(kept):, :len(kept)]
        weak = [f for f, shares in zip(weak, inside) if shares.max() < MOSTLY_INSIDE]
    return kept + weak


@dataclass(frozen=True)
class Merged:
    """A face ``merge_nested`` leaves: the input that survives, the inputs merged into it and
    the box that covers them all (the survivor's own box when it took in none)."""

    keep: int
    absorbed: tuple[int, ...]
    box: np.ndarray


def merge_nested(boxes, better: list[int]) -> list[Merged]:
    """One box per face among the corner boxes of one image (or frame): each box lying mostly
    inside another (``MOSTLY_INSIDE``) is merged into the first one it nests with in the
    ranking ``better`` (all the inputs' indices, best first), grown to cover both; again until
    none nests, since a grown box may take in another. The survivors in the inputs' order. The
    one rule of a still image's passes (``one_box_per_face``) and a clip's tracks."""
    boxes = [np.asarray(b) for b in boxes]
    groups = [Merged(i, (), boxes[i]) for i in better]
    while len(groups) > 1 and nested_pairs([g.box for g in groups]):
        survivors: list[Merged] = []
        for g in groups:
            shares = _shares([*(s.box for s in survivors), g.box])[-1, :-1]
            into = np.flatnonzero(shares >= MOSTLY_INSIDE)
            if not len(into):
                survivors.append(g)
                continue
            s = survivors[into[0]]
            survivors[into[0]] = Merged(s.keep, s.absorbed + (g.keep,) + g.absorbed, np.concatenate(
                [np.minimum(s.box[:2], g.box[:2]), np.maximum(s.box[2:], g.box[2:])]))
        groups = survivors
    return sorted(groups, key=lambda g: g.keep)


def nested_pairs(boxes) -> int:
    """How many pairs of corner boxes (x1, y1, x2, y2) of one image are one box mostly inside
    the other (``MOSTLY_INSIDE`` of the smaller one's area or more)."""
    return int(np.triu(_shares(boxes) >= MOSTLY_INSIDE, 1).sum())


def _shares(boxes) -> np.ndarray:
    """For each pair of corner boxes, their intersection's share of the smaller box (0 on the
    diagonal)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = (np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])).clip(0)
    h = (np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])).clip(0)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    shares = w * h / np.maximum(np.minimum(area[:, None], area[None, :]), 1e-9)
    np.fill_diagonal(shares, 0.0)
    return shares


def detect_image(image, **params) -> list[dict]:
    """The faces of one image (an array or PIL image, as ``ldfa.anonymize_image`` takes), each
    as a face detection stores it (``face_fields``); the detector loads once per process.

    Args:
        image: H x W x 3 RGB, H x W grey or H x W x 4 RGBA array (uint8 or uint16), or a PIL image
        **params: any field of :class:`DetectorConfig` (``detector``, ``confidence``, ...)
    """
    config = DetectorConfig.build(**params)
    pixels = decode(image)[0]
    [faces] = find_faces([pixels], [()], config)
    height, width = pixels.shape[:2]
    return [face_fields(face, width, height, config.min_face_px) for face in faces]


def face_fields(face: Face, width: int, height: int, min_face_px: int = 0) -> dict:
    """A face as its detection stores it, relative to the image as shown: ``bounding_box``
    [x, y, w, h], ``confidence`` (None for a box from keypoints), ``source`` (how it was found),
    ``small`` (shorter side below ``min_face_px``) and, where the detector gives them,
    ``landmarks`` (5 points)."""
    fields = {"bounding_box": from_corners(face.box, width, height),
              "confidence": None if face.score is None else float(face.score),
              "source": face.source, "small": face.size < min_face_px}
    if face.landmarks is not None:
        fields["landmarks"] = (np.asarray(face.landmarks) / [width, height]).round(6).tolist()
    return fields
