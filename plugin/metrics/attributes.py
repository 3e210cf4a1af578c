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

import fiftyone as fo
import numpy as np

from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.metrics.attributes_core import MIN_FACE_PX, STATUSES, AttributesJudge, FaceAttributes
from ldfa.plugin.metrics.face_sizes import BUCKETS
from ldfa.plugin.metrics.judging import judge_pairs
from ldfa.plugin.models.face_mesh import load_face_mesh
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import compared_faces_field, declare_fields, record_run, versions
from ldfa.plugin.schema import ATTRIBUTE_DIFFS, ATTRIBUTES, attribute_diff, attribute_reason, run_key


def compute_attribute_differences(collection, field: str, faces_field: str | None = None,
                                  progress: ProgressArg = True,
                                  engine: str | dict | EngineConfig = "local") -> dict:
    """Store every face's attribute differences between its original and version ``field``.

    Args:
        collection: dataset or view with ``faces_field`` and ``field``
        field: an anonymized path field, or ``"original"`` for the reference row (all 0)
        faces_field: the ``fo.Detections`` field with the faces (default: the one the
            anonymization of ``field`` used)
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        engine: ``local`` (this process), ``ray``, or an :class:`EngineConfig` (or a dict of
            its fields)
    Returns: the run statistics (also saved in the run's results)
    """
    faces_field = compared_faces_field(collection, field, faces_field)
    metric = AttributesMetric(collection, field, faces_field)
    judge_pairs(collection, field, faces_field, [metric], EngineConfig.of(engine), progress,
                f"Attribute differences ({field})")
    return metric.finish()


class AttributesMetric:
    """The attribute differences of version ``field`` in a pass (``judging.py``): each face's
    figures and reason written per batch, the run's statistics recorded at the end."""

    name = ATTRIBUTES

    def __init__(self, collection, field: str, faces_field: str):
        self.collection, self.field, self.faces_field = collection, field, faces_field
        self.judge = AttributesJudge()
        self.model = load_face_mesh()  # here too: a missing model file stops the run before it starts
        self.faces: list[FaceAttributes] = []
        declare_fields(collection._dataset, {
            f"{faces_field}.detections.{name}": kind for name, kind in
            [*((attribute_diff(field, n), fo.FloatField) for n in ATTRIBUTE_DIFFS),
             (attribute_reason(field), fo.StringField)]})

    def write(self, records: list[tuple[str, list[FaceAttributes]]]) -> None:
        faces = [face for _, found in records for face in found]
        if not faces:
            return
        batch = self.collection._dataset.select([sample_id for sample_id, _ in records])
        for name in ATTRIBUTE_DIFFS:
            batch.set_label_values(f"{self.faces_field}.detections.{attribute_diff(self.field, name)}",
                                   {f.face_id: None if f.figures is None else f.figures[name] for f in faces})
        batch.set_label_values(f"{self.faces_field}.detections.{attribute_reason(self.field)}",
                               {f.face_id: f.reason for f in faces})
        self.faces += faces

    def finish(self) -> dict:
        """The run's statistics, recorded as its results (over the faces in one order whatever
        order the engine returned them in: the same sums to the last bit)."""
        outcomes = [(f.bucket, f.status, f.figures) for f in sorted(self.faces, key=lambda f: f.face_id)]
        results = {"min_face_px": MIN_FACE_PX, **_summary(outcomes),
                   "by_size": {b: _summary([o for o in outcomes if o[0] == b]) for b in BUCKETS}}
        record_run(self.collection, run_key(ATTRIBUTES, self.field),
                   {"method": "ldfa.compute_attribute_differences", "field": self.field,
                    "faces_field": self.faces_field, "min_face_px": MIN_FACE_PX,
                    "model": self.model.provenance, "versions": versions("ai-edge-litert")},
                   results)
        return results


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

