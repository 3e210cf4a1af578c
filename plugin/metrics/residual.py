"""Residual similarity: how much of the original face's pixels are still in the anonymized box.

Identity embedders answer "is it the same person?" and cannot judge small faces
(``ldfa.plugin.models.embedders``' ``min_face_px``); this answers a simpler question for every face,
however small: per face, the normalised cross-correlation (NCC) of the grey pixels (ITU-R
BT.601 luma) of the face box (``ldfa.plugin.geometry.masks.face_region``, not grown), original against
anonymized image. 1 means the original pixels are still there (up to brightness and contrast),
about 0 that nothing of them is left, negative values an inverted pattern.

- The anonymized box is a uniform fill (grey std below ``MIN_CROP_STD``, e.g. ``solid``): NCC is
  undefined (no variation to correlate); it is defined as 0.0, since nothing of the original
  remains.
- The *original* box is uniform: there is no face texture to look for; no value (None) and
  ``<field>_residual_reason`` says so. So does a missing or differently sized anonymized
  image.

Stored per face as ``<field>_residual`` (a typed float field the App can filter);
``field="original"`` compares the originals with themselves (1 by construction). The run
``ldfa_residual_<field>`` holds ``faces``, ``measured`` (faces with a value), ``mean``,
``median``, ``p95`` and the same per face size bucket (``by_size``, ``ldfa.plugin.metrics.face_sizes``).
"""

from __future__ import annotations

import fiftyone as fo
import numpy as np

from ldfa.plugin.deprecation import renamed
from ldfa.plugin.errors import ImageError
from ldfa.plugin.geometry.boxes import to_pixels
from ldfa.plugin.geometry.crops import MIN_CROP_STD
from ldfa.plugin.geometry.masks import face_region
from ldfa.plugin.metrics.face_sizes import BUCKETS, UNKNOWN, bucket
from ldfa.plugin.metrics.pairs import read_pair, unreadable_original
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import compared_faces_field, declare_fields, record_run, versions
from ldfa.plugin.schema import ORIGINAL, RESIDUAL, media_field, residual, residual_reason, run_key

LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as PIL's "L" mode


@renamed(anon_field="field")
def compute_residual_similarity(collection, field: str, faces_field: str | None = None,
                                progress: ProgressArg = True) -> dict:
    """Store every face's residual similarity between its original and version ``field``.

    Args:
        collection: dataset or view with ``faces_field`` and ``field``
        field: an anonymized path field, or ``"original"`` for the reference row
        faces_field: the ``fo.Detections`` field with the faces (default: the one the
            anonymization of ``field`` used)
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
    Returns: the run statistics (also saved in the run's results)
    """
    faces_field = compared_faces_field(collection, field, faces_field)
    declare_fields(collection._dataset, {f"{faces_field}.detections.{residual(field)}": fo.FloatField,
                                         f"{faces_field}.detections.{residual_reason(field)}": fo.StringField})
    values: list[tuple[str, float | None]] = []  # (size bucket, residual or None)
    with Progress(len(collection), f"Residual similarity ({field})", progress) as bar:
        for sample in collection.iter_samples(autosave=True, progress=False):
            values += _measure(sample, field, faces_field)
            bar.update()
    results = {**_summary([v for _, v in values]),
               "by_size": {b: _summary([v for k, v in values if k == b]) for b in BUCKETS}}
    record_run(collection, run_key(RESIDUAL, field),
               {"method": "ldfa.compute_residual_similarity", "field": field,
                "faces_field": faces_field, "region": "face box (face_region, grow 1.0)",
                "grey": "ITU-R BT.601 luma", "uniform_below_std": MIN_CROP_STD,
                "versions": versions()},
               results)
    return results


def residual_similarity(original: np.ndarray, anonymized: np.ndarray) -> float | None:
    """NCC of two same-size grey boxes: None when the original is uniform, 0.0 when only the
    anonymized one is."""
    if original.std() < MIN_CROP_STD:
        return None
    if anonymized.std() < MIN_CROP_STD:
        return 0.0
    a, b = original - original.mean(), anonymized - anonymized.mean()
    return float(np.clip((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()), -1.0, 1.0))


def _measure(sample, field, faces_field) -> list[tuple[str, float | None]]:
    """Set each face's residual and reason; return (size bucket, residual) per face."""
    faces = sample[faces_field].detections if sample[faces_field] else []
    if not faces:
        return []
    try:
        original, anon, reason = read_pair(sample.filepath, sample[media_field(field)], field == ORIGINAL)
    except ImageError as e:
        for face in faces:
            face[residual(field)], face[residual_reason(field)] = None, unreadable_original(e)
        return [(UNKNOWN, None)] * len(faces)
    height, width = original.shape[:2]
    grey_original = original @ LUMA
    grey_anon = None if reason else anon @ LUMA
    out = []
    for face in faces:
        region = face_region(width, height, face.bounding_box, 1.0)
        value, why = _face_residual(grey_original, grey_anon, region, reason)
        face[residual(field)] = value
        face[residual_reason(field)] = why
        x, y, w, h = to_pixels(face.bounding_box, width, height)
        out.append((bucket(min(w, h)), value))
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


def _summary(values: list[float | None]) -> dict:
    """Face count, faces with a value, and the values' mean, median and 95th percentile."""
    measured = np.array([v for v in values if v is not None])
    out = {"faces": len(values), "measured": len(measured), "mean": None, "median": None, "p95": None}
    if len(measured):
        out.update(mean=float(measured.mean()), median=float(np.median(measured)),
                   p95=float(np.percentile(measured, 95)))
    return out
