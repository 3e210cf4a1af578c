"""The reviewer's redo: chosen faces again with a new seed, measured again, mirrored onto the audit.

Re-anonymizing (the anonymization stage), re-measuring (the metrics stage) and the audit
dataset's copies of the faces (the audit stage) meet here, above the three, so that none of
them imports another.
"""

from __future__ import annotations

import fiftyone as fo

from ldfa.plugin.anonymization.faces import AnonymizationSummary
from ldfa.plugin.audit.dataset import source_dataset
from ldfa.plugin.audit.review import mirror_faces
from ldfa.plugin.guard.identity import redo_and_measure
from ldfa.plugin.runs import faces_field_of


def redo_faces(dataset: fo.Dataset, field: str, face_ids: list[str]) -> AnonymizationSummary:
    """Re-anonymize ``face_ids`` in ``field`` with a new seed, in place, and re-measure them.

    ``dataset`` may be the source dataset or its audit dataset. The anonymized file is replaced
    (same path); identity distances are measured again with the embedders of the field's
    identity run, so the App shows the new face's distance; the audit dataset's copies of the
    faces are refreshed.
    """
    source = source_dataset(dataset)
    summary = redo_and_measure(source, field, face_ids)
    mirror_faces(source, face_ids, faces_field_of(source, field))
    return summary
