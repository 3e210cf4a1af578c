"""Attribute differences: does the anonymized face still do what the original did?

Perception models read head pose (where a pedestrian is about to go), eyes and mouth from
faces; an anonymization that keeps them changes who it is, not what the face does. Per face,
the original and the same face region of a version are read by MediaPipe's Face Mesh
(``ldfa.plugin.models.face_mesh``; the version is read from exactly the region found on the
original, so both meshes share one frame) and compared:

- head pose: yaw, pitch and roll in degrees from the mesh's 3-D points: the face's left-right
  axis (eye corners, mouth corners, cheek edges) and its chin-to-forehead axis, and the normal
  they span. Yaw > 0: the face turns toward the image's right; pitch > 0: it looks up;
  roll > 0: its image-right side is higher. Stored signed (version minus original) as
  ``<field>_yaw_diff`` etc., and ``<field>_pose_diff_deg``: the mean of the three absolute
  differences.
- eye openness: lid gap over eye width, both eyes averaged; mouth openness: inner-lip gap over
  mouth width. ``<field>_eye_diff``, ``<field>_mouth_diff``: absolute differences.
- ``<field>_landmark_nme``: the mean distance between the 468 corresponding points (image
  plane) over the original's inter-ocular distance (outer eye corners), as face-alignment
  benchmarks normalise.

A face compared with itself gives 0 for every figure. Faces get a reason instead of numbers
(``<field>_attributes_reason``) when they are too small for the mesh (``MIN_FACE_PX``,
measured by ``bench/attributes_by_size.py``), when the mesh finds no face in the original
(``not_measurable``), or when it finds none in the version (``no_face_left``: what ``solid``
does; the attributes are gone, counted apart). The run ``ldfa_attributes_<field>`` holds the
counts, the share of faces the mesh still finds (``mesh_kept``) and the means over measured
faces, overall and by face size.
"""

from __future__ import annotations

from dataclasses import dataclass

import fiftyone as fo
import numpy as np

from ldfa.plugin.errors import ImageError
from ldfa.plugin.metrics.face_sizes import BUCKETS, UNKNOWN, bucket
from ldfa.plugin.metrics.identity_core import boxes_of
from ldfa.plugin.metrics.pairs import read_pair, unreadable_original
from ldfa.plugin.models.face_mesh import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS, Mesh, load_face_mesh
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import compared_faces_field, declare_fields, record_run, versions
from ldfa.plugin.schema import (
    ATTRIBUTE_DIFFS,
    ATTRIBUTES,
    ORIGINAL,
    attribute_diff,
    attribute_reason,
    media_field,
    run_key,
)

# Smallest face (shorter side of the box, px) whose pose the mesh reads within a few degrees of
# the same face at full size: measured by bench/attributes_by_size.py (README).
MIN_FACE_PX = 24
STATUSES = ("measured", "no_face_left", "not_measurable")

# Mesh point indices (MediaPipe's canonical face; "right" is the subject's right).
_ACROSS = ((33, 263), (133, 362), (61, 291), (234, 454))  # image-left -> image-right pairs
_CHIN, _FOREHEAD = 152, 10
_RIGHT_LIDS, _LEFT_LIDS = (159, 145), (386, 374)  # upper, lower
_LIPS_INNER, _MOUTH_CORNERS = (13, 14), (61, 291)


@dataclass(frozen=True)
class Attributes:
    """What one face does: pose in degrees, eye and mouth openness (ratios)."""

    yaw: float
    pitch: float
    roll: float
    eye: float
    mouth: float


def attributes_of(points: np.ndarray) -> Attributes:
    """Pose and openness of a mesh's (468, 3) points (x right, y down, z away, in pixels)."""
    across = sum(_unit(points[b] - points[a]) for a, b in _ACROSS)
    ex = _unit(across)
    up = points[_FOREHEAD] - points[_CHIN]
    ey = _unit(up - (up @ ex) * ex)
    normal = np.cross(ex, ey)  # toward the camera for a frontal face (-z)
    yaw = np.degrees(np.arctan2(normal[0], -normal[2]))
    pitch = np.degrees(np.arctan2(-normal[1], np.hypot(normal[0], normal[2])))
    roll = np.degrees(np.arctan2(-ex[1], ex[0]))
    eye = np.mean([_gap(points, lids, corners) for lids, corners in
                   ((_RIGHT_LIDS, RIGHT_EYE_CORNERS), (_LEFT_LIDS, LEFT_EYE_CORNERS))])
    return Attributes(float(yaw), float(pitch), float(roll), float(eye),
                      _gap(points, _LIPS_INNER, _MOUTH_CORNERS))


def differences(original: Mesh, version: Mesh) -> dict[str, float]:
    """The stored figures (``schema.ATTRIBUTE_DIFFS``) of ``version`` against ``original``."""
    a, b = attributes_of(original.points), attributes_of(version.points)
    pose = {f"{k}_diff": _angle(getattr(b, k) - getattr(a, k)) for k in ("yaw", "pitch", "roll")}
    ocular = np.linalg.norm(original.points[LEFT_EYE_CORNERS[1], :2] - original.points[RIGHT_EYE_CORNERS[0], :2])
    nme = np.linalg.norm(version.points[:, :2] - original.points[:, :2], axis=1).mean() / max(ocular, 1e-6)
    return {**pose, "pose_diff_deg": float(np.mean([abs(v) for v in pose.values()])),
            "eye_diff": abs(b.eye - a.eye), "mouth_diff": abs(b.mouth - a.mouth),
            "landmark_nme": float(nme)}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _gap(points, pair, corners) -> float:
    """Opening between ``pair`` over the width between ``corners``, in the image plane."""
    width = np.linalg.norm(points[corners[1], :2] - points[corners[0], :2])
    return float(np.linalg.norm(points[pair[1], :2] - points[pair[0], :2]) / max(width, 1e-6))


def _angle(degrees: float) -> float:
    """An angle difference wrapped into [-180, 180)."""
    return float((degrees + 180.0) % 360.0 - 180.0)


def compute_attribute_differences(collection, field: str, faces_field: str | None = None,
                                  progress: ProgressArg = True) -> dict:
    """Store every face's attribute differences between its original and version ``field``.

    Args:
        collection: dataset or view with ``faces_field`` and ``field``
        field: an anonymized path field, or ``"original"`` for the reference row (all 0)
        faces_field: the ``fo.Detections`` field with the faces (default: the one the
            anonymization of ``field`` used)
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
    Returns: the run statistics (also saved in the run's results)
    """
    faces_field = compared_faces_field(collection, field, faces_field)
    model = load_face_mesh()
    declare_fields(collection._dataset, {
        f"{faces_field}.detections.{name}": kind for name, kind in
        [*((attribute_diff(field, n), fo.FloatField) for n in ATTRIBUTE_DIFFS),
         (attribute_reason(field), fo.StringField)]})
    outcomes: list[tuple[str, str, dict | None]] = []  # (size bucket, status, figures)
    with Progress(len(collection), f"Attribute differences ({field})", progress) as bar:
        for sample in collection.iter_samples(autosave=True, progress=False):
            outcomes += _measure(model, sample, field, faces_field)
            bar.update()
    results = {"min_face_px": MIN_FACE_PX, **_summary(outcomes),
               "by_size": {b: _summary([o for o in outcomes if o[0] == b]) for b in BUCKETS}}
    record_run(collection, run_key(ATTRIBUTES, field),
               {"method": "ldfa.compute_attribute_differences", "field": field,
                "faces_field": faces_field, "min_face_px": MIN_FACE_PX,
                "model": model.provenance, "versions": versions("ai-edge-litert")},
               results)
    return results


def _measure(model, sample, field, faces_field) -> list[tuple[str, str, dict | None]]:
    """Set each face's figures or reason; return (size bucket, status, figures) per face."""
    faces = sample[faces_field].detections if sample[faces_field] else []
    if not faces:
        return []
    try:
        original, version, missing = read_pair(sample.filepath, sample[media_field(field)], field == ORIGINAL)
    except ImageError as e:
        for face in faces:
            for name in ATTRIBUTE_DIFFS:
                face[attribute_diff(field, name)] = None
            face[attribute_reason(field)] = unreadable_original(e)
        return [(UNKNOWN, "not_measurable", None)] * len(faces)
    out = []
    for face, box in zip(faces, boxes_of(faces, original.shape[1], original.shape[0])):
        status, figures, why = _judge(model, original, version, missing, box)
        for name in ATTRIBUTE_DIFFS:
            face[attribute_diff(field, name)] = None if figures is None else figures[name]
        face[attribute_reason(field)] = why
        out.append((bucket(box.size), status, figures))
    return out


def _judge(model, original, version, missing, box) -> tuple[str, dict | None, str | None]:
    """(status, figures or None, reason or None) of one face."""
    if box.size < MIN_FACE_PX:
        return "not_measurable", None, (f"attributes not measurable at this size (face {box.size:.1f} px; "
                                        f"the face mesh reads pose from {MIN_FACE_PX} px)")
    eyes = None if box.landmarks is None else box.landmarks[:2]
    before = model.locate(original, box.box, eyes, pupils=False)
    if not before.found:
        return "not_measurable", None, f"face mesh finds no face in the original (score {before.score:.2f})"
    if missing is not None:
        return "not_measurable", None, missing
    after = model.read(version, before.roi, pupils=False)
    if not after.found:
        return "no_face_left", None, (f"face mesh finds no face in the anonymized image (score "
                                      f"{after.score:.2f}): its attributes are gone")
    return "measured", differences(before, after), None


def _summary(outcomes) -> dict:
    """Counts by status, the share of readable originals still read as a face (``mesh_kept``),
    and the mean of each figure over measured faces (absolute for the signed pose ones)."""
    counts = {s: sum(o[1] == s for o in outcomes) for s in STATUSES}
    readable = counts["measured"] + counts["no_face_left"]
    measured = [o[2] for o in outcomes if o[2] is not None]
    means = {name: (float(np.mean([abs(m[name]) for m in measured])) if measured else None)
             for name in ATTRIBUTE_DIFFS}
    return {"faces": len(outcomes), **counts,
            "mesh_kept": counts["measured"] / readable if readable else None, **means}

