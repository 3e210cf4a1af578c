"""The dataset's own people as a second opinion on where the faces are.

Annotated street datasets already mark every person: Cityscapes' gtFine polygons (``person``,
``rider``), CityPersons boxes, COCO ``person`` boxes with keypoints. A person whose head region
holds no detected face gets a closer look: the detector runs on a magnified window around the
head, down to the candidate threshold (source ``second_look``). A person still without a face
whose nose, eyes or ears are marked (COCO keypoints, visibility > 0) gets a face box from those
points (source ``keypoints``). At worst a person seen from behind gets a needless box; at best a
face the detector missed is not left in the export.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ldfa.plugin.geometry.boxes import to_pixels
from ldfa.plugin.models.detector.backends import Face
from ldfa.plugin.models.detector.config import PEOPLE_LABELS, DetectorConfig
from ldfa.plugin.models.detector.passes import detect_in_windows

if TYPE_CHECKING:  # labels are read by their attributes: a detection worker needs no FiftyOne
    import fiftyone as fo

HEAD_SHARE = 0.25  # a person's face lies in this top share of its height ...
HEAD_WIDTH = 0.35  # ... within this share of its height around the head's x (shoulders fit)
LOOK_CONTEXT = 3.0  # the closer look sees the head region and as much again on every side ...
LOOK_OUT_PX = 192  # ... resized to this square for the detector (the head region to 64 px)
FACE_POINTS = 5  # COCO keypoints 0-4: nose, left eye, right eye, left ear, right ear


@dataclass(frozen=True)
class Person:
    """Where one annotated person's face must be, in image pixels."""

    head: tuple[float, float, float, float]  # x1, y1, x2, y2
    height: float  # of the whole person
    face_points: np.ndarray | None = None  # (5, 3) COCO nose, eyes, ears: x, y, visibility


def people_in(label, width: int, height: int) -> list[Person]:
    """The single people of one annotation field's value: ``fo.Detections`` (boxes, with
    ``keypoints`` [[x, y, v], ...] in relative coordinates where the source has them) or
    ``fo.Polylines`` (Cityscapes polygons)."""
    if label is None:
        return []
    size = np.array([width, height], dtype=np.float32)
    if hasattr(label, "polylines"):  # fo.Polylines
        people = []
        for line in label.polylines:
            if line.label in PEOPLE_LABELS and line.points and line.points[0]:
                people.append(_from_outline(np.concatenate([np.asarray(p) for p in line.points]) * size))
        return people
    if hasattr(label, "detections"):  # fo.Detections
        return [_from_box(d, size) for d in label.detections if d.label in PEOPLE_LABELS]
    return []


def _from_outline(points: np.ndarray) -> Person:
    """A polygon's head: the top ``HEAD_SHARE`` of it, centred on its top tenth (the crown)."""
    top, bottom = points[:, 1].min(), points[:, 1].max()
    tall = max(bottom - top, 1.0)
    crown = points[points[:, 1] <= top + 0.1 * tall, 0].mean()
    half = HEAD_WIDTH * tall / 2
    return Person((crown - half, top - 0.02 * tall, crown + half, top + HEAD_SHARE * tall), tall)


def _from_box(det: fo.Detection, size: np.ndarray) -> Person:
    """A box's head: around its visible face keypoints where it has them, else its top
    ``HEAD_SHARE``, centred (CityPersons boxes are drawn around the body's centre line)."""
    x, y, w, h = to_pixels(det.bounding_box, *size)
    points = _face_points(det, size)
    if points is not None:
        visible = points[points[:, 2] > 0, :2]
        centre = visible.mean(axis=0)
        half = max(_span(visible), 0.12 * h, 4.0)
        return Person((centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half), h, points)
    half = min(w, HEAD_WIDTH * h) / 2
    cx = x + w / 2
    return Person((cx - half, y, cx + half, y + HEAD_SHARE * h), h)


def _face_points(det: fo.Detection, size: np.ndarray) -> np.ndarray | None:
    """The detection's COCO face keypoints in pixels with their visibility, if any is marked."""
    keypoints = det.get_field("keypoints") if det.has_field("keypoints") else None
    if not keypoints or len(keypoints) < FACE_POINTS:
        return None
    points = np.asarray(keypoints[:FACE_POINTS], dtype=np.float32) * [*size, 1.0]
    return points if (points[:, 2] > 0).any() else None


def _span(points: np.ndarray) -> float:
    """The largest distance between two of ``points`` (0 for one point)."""
    return float(np.max(np.linalg.norm(points[:, None] - points[None], axis=-1)))


def keypoint_face(person: Person) -> Face:
    """A face box from COCO face keypoints (fitted to COCO-WholeBody's face boxes): as wide as
    the visible points spread (ear to ear, or ear to eye in profile) and at least twice the
    distance between the eyes; one visible point gives a head an eighth of the person's height.
    Square, 10 % wider than that, centred on the points, reaching further down than up."""
    points = person.face_points[person.face_points[:, 2] > 0, :2]
    eyes = person.face_points[1:3]
    width = _span(points) if len(points) > 1 else person.height / 8
    if (eyes[:, 2] > 0).all():
        width = max(width, 2.0 * _span(eyes[:, :2]))
    cx, cy = points.mean(axis=0)
    side = 1.1 * max(width, 4.0)
    box = np.array([cx - side / 2, cy - 0.35 * side, cx + side / 2, cy + 0.65 * side], dtype=np.float32)
    return Face(box, None, None, source="keypoints")


def faces_for_people(images: list[np.ndarray], faces: list[list[Face]],
                     people: list[list[Person]], config: DetectorConfig) -> list[list[Face]]:
    """The faces to add to each image so that every person has one where its annotations and
    the detector allow: a closer look first, then keypoints."""
    lacking = [(i, p) for i, persons in enumerate(people) for p in persons
               if not any(f.centred_in(p.head) for f in faces[i])]
    windows = []
    for i, person in lacking:
        x1, y1, x2, y2 = person.head
        side = max(LOOK_CONTEXT * max(x2 - x1, y2 - y1), 8.0)
        windows.append((i, round((x1 + x2 - side) / 2), round((y1 + y2 - side) / 2), round(side)))
    looks = detect_in_windows(images, windows, LOOK_OUT_PX, config.candidate_confidence, config)
    added: list[list[Face]] = [[] for _ in images]
    for (i, person), found in zip(lacking, looks):
        if any(f.centred_in(person.head) for f in faces[i] + added[i]):
            continue  # the same person annotated twice (polygon and box): already done
        inside = [f for f in found if f.centred_in(person.head)]
        if inside:
            added[i].append(replace(max(inside, key=lambda f: f.score), source="second_look"))
        elif person.face_points is not None:
            added[i].append(keypoint_face(person))
    return added
