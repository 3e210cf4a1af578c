"""The attributes judge: one read pair in, each face's attribute differences (or why none) out,
no database (``attributes.py`` says what the figures mean and writes them back)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldfa.plugin.errors import ImageError
from ldfa.plugin.metrics.face_sizes import UNKNOWN, bucket, too_small
from ldfa.plugin.metrics.identity_core import boxes_of
from ldfa.plugin.metrics.pair_core import PairTask
from ldfa.plugin.metrics.pairs import Pair, unreadable_original
from ldfa.plugin.models.face_mesh import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS, Mesh, load_face_mesh

# Smallest face (shorter side of the box, px) whose pose the mesh reads within a few degrees of
# the same face at full size: measured by bench/attributes_by_size.py (docs/results.md).
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



@dataclass(frozen=True)
class FaceAttributes:
    """One face's attribute differences (``schema.ATTRIBUTE_DIFFS``), or None and why."""

    face_id: str
    bucket: str
    status: str  # one of STATUSES
    figures: dict | None
    reason: str | None


@dataclass(frozen=True)
class AttributesJudge:
    """Each face read by the face mesh (loaded once per process) in the original, and in the
    version from exactly the region found on the original."""

    def __call__(self, task: PairTask, pair: Pair) -> list[FaceAttributes]:
        if not task.faces:
            return []
        try:
            original, version, missing = pair.compared()
        except ImageError as e:
            return [FaceAttributes(f.id, UNKNOWN, "not_measurable", None, unreadable_original(e))
                    for f in task.faces]
        model = load_face_mesh()
        return [FaceAttributes(face.id, bucket(box.size), *_judge(model, original, version, missing, box))
                for face, box in zip(task.faces, boxes_of(task.faces, original.shape[1], original.shape[0]))]


def _judge(model, original, version, missing, box) -> tuple[str, dict | None, str | None]:
    """(status, figures or None, reason or None) of one face."""
    small = too_small(box.size, MIN_FACE_PX, "attributes", "the face mesh reads pose")
    if small:
        return "not_measurable", None, small
    if missing is not None:  # no version to compare: the mesh need not read the original
        return "not_measurable", None, missing
    eyes = None if box.landmarks is None else box.landmarks[:2]
    before = model.locate(original, box.box, eyes, pupils=False)
    if not before.found:
        return "not_measurable", None, f"face mesh finds no face in the original (score {before.score:.2f})"
    after = model.read(version, before.roi, pupils=False)
    if not after.found:
        return "no_face_left", None, (f"face mesh finds no face in the anonymized image (score "
                                      f"{after.score:.2f}): its attributes are gone")
    return "measured", differences(before, after), None
