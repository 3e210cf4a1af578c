"""The reviewer's verdicts: tag faces, and keep the audit dataset in step.

A face has one review verdict at a time (``approved`` or ``needs_review``, label tags). The
grouped audit dataset holds copies of the source's faces with the same label ids, so every
change is written to the source dataset and mirrored onto every slice of its audit dataset.
Redoing a face re-anonymizes and re-measures it, which two other stages do: that is
``ldfa.plugin.guard.redo``, above the stages, which mirrors the new faces with ``mirror_faces``.
"""

from __future__ import annotations

import fiftyone as fo
from fiftyone import ViewField as F

from ldfa.plugin.audit.dataset import audit_name, source_dataset
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.freshness import faces_path
from ldfa.plugin.runs import faces_field_of
from ldfa.plugin.schema import REVIEW_TAGS


def tag_faces(dataset: fo.Dataset, face_ids: list[str], tag: str,
              faces_field: str | None = None) -> int:
    """Give ``face_ids`` the verdict ``tag`` (replacing the other one); returns faces tagged.

    ``dataset`` may be the source dataset or its audit dataset; ``faces_field`` defaults to the
    one its anonymization runs used (in a video, the faces of its frames).
    """
    if tag not in REVIEW_TAGS:
        raise ConfigError(f"unknown review tag '{tag}'; choose one of {list(REVIEW_TAGS)}")
    source = source_dataset(dataset)
    labels = faces_path(source, faces_field or faces_field_of(source))
    counts = []
    for view in _views_of(source):
        faces = view.select_labels(ids=list(face_ids), fields=labels)
        faces.untag_labels([t for t in REVIEW_TAGS if t != tag], label_fields=[labels])
        faces.tag_labels(tag, label_fields=[labels])
        counts.append(faces.count(f"{labels}.detections"))
    return counts[0]  # the source's faces; the audit holds copies


def _views_of(source: fo.Dataset) -> list:
    """The source dataset first and, when it exists, every slice of its audit dataset."""
    views = [source.view()]
    if fo.dataset_exists(audit_name(source)):
        views.append(fo.load_dataset(audit_name(source)).select_group_slices())
    return views


def mirror_faces(source: fo.Dataset, face_ids, faces_field: str) -> None:
    """Copy the current faces of the samples holding ``face_ids`` onto their audit samples."""
    if not fo.dataset_exists(audit_name(source)):
        return
    holding = source.match_labels(ids=list(face_ids), fields=faces_field)
    faces = dict(zip(*holding.values(["id", faces_field])))
    audit = fo.load_dataset(audit_name(source)).select_group_slices()
    for copy in audit.match(F("source_id").is_in(list(faces))).iter_samples(autosave=True):
        copy[faces_field] = faces[copy.source_id]
