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

Stored per face as ``<field>_residual`` (a typed float field the App can filter), which
rewrites the face's review status (``status.py``: a face no identity model can judge is at risk
when much of its original remains);
``field="original"`` compares the originals with themselves (1 by construction). The run
``ldfa_residual_<field>`` holds ``faces``, ``measured`` (faces with a value), ``mean``,
``median``, ``p95`` and the same per face size bucket (``by_size``, ``ldfa.plugin.metrics.face_sizes``).
"""

from __future__ import annotations

import fiftyone as fo
import numpy as np

from ldfa.plugin.deprecation import renamed
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.geometry.crops import MIN_CROP_STD
from ldfa.plugin.metrics.face_sizes import BUCKETS
from ldfa.plugin.metrics.judging import judge_pairs
from ldfa.plugin.metrics.residual_core import FaceResidual, ResidualJudge
from ldfa.plugin.metrics.status import write_statuses
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import compared_faces_field, declare_fields, record_run, versions
from ldfa.plugin.schema import RESIDUAL, residual, residual_reason, run_key


@renamed(anon_field="field")
def compute_residual_similarity(collection, field: str, faces_field: str | None = None,
                                progress: ProgressArg = True,
                                engine: str | dict | EngineConfig = "local") -> dict:
    """Store every face's residual similarity between its original and version ``field``.

    Args:
        collection: dataset or view with ``faces_field`` and ``field``
        field: an anonymized path field, or ``"original"`` for the reference row
        faces_field: the ``fo.Detections`` field with the faces (default: the one the
            anonymization of ``field`` used)
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        engine: ``local`` (this process), ``ray``, or an :class:`EngineConfig` (or a dict of
            its fields)
    Returns: the run statistics (also saved in the run's results)
    """
    faces_field = compared_faces_field(collection, field, faces_field)
    metric = ResidualMetric(collection, field, faces_field)
    judge_pairs(collection, field, faces_field, [metric], EngineConfig.of(engine), progress,
                f"Residual similarity ({field})")
    return metric.finish()


class ResidualMetric:
    """The residual of version ``field`` in a pass (``judging.py``): each face's value and
    reason written per batch, the run's statistics recorded at the end."""

    name = RESIDUAL

    def __init__(self, collection, field: str, faces_field: str):
        self.collection, self.field, self.faces_field = collection, field, faces_field
        self.judge = ResidualJudge()
        self.faces: list[FaceResidual] = []
        declare_fields(collection._dataset, {f"{faces_field}.detections.{residual(field)}": fo.FloatField,
                                             f"{faces_field}.detections.{residual_reason(field)}": fo.StringField})

    def write(self, records: list[tuple[str, list[FaceResidual]]]) -> None:
        faces = [face for _, found in records for face in found]
        if not faces:
            return
        batch = self.collection._dataset.select([sample_id for sample_id, _ in records])
        batch.set_label_values(f"{self.faces_field}.detections.{residual(self.field)}",
                               {f.face_id: f.value for f in faces})
        batch.set_label_values(f"{self.faces_field}.detections.{residual_reason(self.field)}",
                               {f.face_id: f.reason for f in faces})
        write_statuses(self.collection, self.field, self.faces_field, [sample_id for sample_id, _ in records])
        self.faces += faces

    def finish(self) -> dict:
        """The run's statistics, recorded as its results (over the faces in one order
        whatever order the engine returned them in: the same sums to the last bit)."""
        faces = sorted(self.faces, key=lambda f: f.face_id)
        results = {**_summary([f.value for f in faces]),
                   "by_size": {b: _summary([f.value for f in faces if f.bucket == b]) for b in BUCKETS}}
        record_run(self.collection, run_key(RESIDUAL, self.field),
                   {"method": "ldfa.compute_residual_similarity", "field": self.field,
                    "faces_field": self.faces_field, "region": "face box (face_region, grow 1.0)",
                    "grey": "ITU-R BT.601 luma", "uniform_below_std": MIN_CROP_STD,
                    "versions": versions()},
                   results)
        return results


def _summary(values: list[float | None]) -> dict:
    """Face count, faces with a value, and the values' mean, median and 95th percentile."""
    measured = np.array([v for v in values if v is not None])
    out = {"faces": len(values), "measured": len(measured), "mean": None, "median": None, "p95": None}
    if len(measured):
        out.update(mean=float(measured.mean()), median=float(np.median(measured)),
                   p95=float(np.percentile(measured, 95)))
    return out
