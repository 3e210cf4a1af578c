"""The residual judge: one read pair in, each face's residual similarity (or why none) out, no
database (``residual.py`` says what the figure means and writes it back)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldfa.plugin.errors import ImageError
from ldfa.plugin.geometry.boxes import to_pixels
from ldfa.plugin.geometry.crops import MIN_CROP_STD
from ldfa.plugin.geometry.masks import face_region
from ldfa.plugin.metrics.face_sizes import UNKNOWN, bucket
from ldfa.plugin.metrics.pair_core import PairTask
from ldfa.plugin.metrics.pairs import Pair, unreadable_original

LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as PIL's "L" mode


@dataclass(frozen=True)
class FaceResidual:
    """One face's residual similarity, or None and why."""

    face_id: str
    bucket: str
    value: float | None
    reason: str | None


def residual_similarity(original: np.ndarray, anonymized: np.ndarray) -> float | None:
    """NCC of two same-size grey boxes: None when the original is uniform, 0.0 when only the
    anonymized one is."""
    if original.std() < MIN_CROP_STD:
        return None
    if anonymized.std() < MIN_CROP_STD:
        return 0.0
    a, b = original - original.mean(), anonymized - anonymized.mean()
    return float(np.clip((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()), -1.0, 1.0))


@dataclass(frozen=True)
class ResidualJudge:
    """Each face's residual in the box of the original face (not grown)."""

    def __call__(self, task: PairTask, pair: Pair) -> list[FaceResidual]:
        if not task.faces:
            return []
        try:
            original, anon, reason = pair.compared()
        except ImageError as e:
            return [FaceResidual(f.id, UNKNOWN, None, unreadable_original(e)) for f in task.faces]
        height, width = original.shape[:2]
        grey_original = original @ LUMA
        grey_anon = None if reason else anon @ LUMA
        out = []
        for face in task.faces:
            region = face_region(width, height, face.bounding_box, 1.0)
            value, why = _face_residual(grey_original, grey_anon, region, reason)
            _, _, w, h = to_pixels(face.bounding_box, width, height)
            out.append(FaceResidual(face.id, bucket(min(w, h)), value, why))
        return out


def _face_residual(grey_original, grey_anon, region, reason) -> tuple[float | None, str | None]:
    """(residual, None), or (None, why there is none) for one face's pixel ``region``."""
    if reason is not None:
        return None, reason
    x1, y1, x2, y2 = region
    if x2 <= x1 or y2 <= y1:
        return None, "face box outside the image"
    value = residual_similarity(grey_original[y1:y2, x1:x2], grey_anon[y1:y2, x1:x2])
    return value, None if value is not None else "original face box is uniform: no face texture to compare"
