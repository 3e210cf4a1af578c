"""Each face's review status in a version (``ldfa.plugin.schema.face_status``), kept current.

The status joins two measurements (``verdict.review_status``): the identity verdict and, for the
faces no model can judge, the residual similarity. Either may be measured alone, in any order,
or again after a face is redone; so whichever writes a batch re-derives the status of its faces
from what the dataset holds then, and the status never lags the figures it is made of.
"""

from __future__ import annotations

from collections import Counter

import fiftyone as fo

from ldfa.plugin.metrics.verdict import review_status
from ldfa.plugin.runs import declare_fields
from ldfa.plugin.schema import FACE_STATUSES, face_status, residual, same_person


def statuses(collection, field: str, faces_field: str) -> dict[str, str]:
    """Face id -> its status in version ``field``, from the verdicts and residuals ``collection``
    holds (a face with neither measured is not measurable)."""
    paths = [f"{faces_field}.detections.{name}" for name in ("id", same_person(field), residual(field))]
    ids = collection.values(paths[0], unwind=True)
    verdicts, residuals = (collection.values(p, unwind=True) if collection.has_field(p) else [None] * len(ids)
                           for p in paths[1:])
    return {i: review_status(v, r) for i, v, r in zip(ids, verdicts, residuals)}


def write_statuses(collection, field: str, faces_field: str, sample_ids: list[str]) -> None:
    """Write the status of every face of the samples ``sample_ids`` in version ``field``."""
    dataset = collection._dataset
    path = f"{faces_field}.detections.{face_status(field)}"
    declare_fields(dataset, {path: fo.StringField})
    batch = dataset.select(sample_ids)
    found = statuses(batch, field, faces_field)
    if found:
        batch.set_label_values(path, found)


def status_totals(collection, field: str, faces_field: str) -> dict[str, int]:
    """How many faces of ``collection`` have each status in version ``field``."""
    counts = Counter(statuses(collection, field, faces_field).values())
    return {status: counts[status] for status in FACE_STATUSES}
