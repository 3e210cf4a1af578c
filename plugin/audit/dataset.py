"""The side-by-side audit dataset: every version of each image in one group.

The audit dataset is grouped: slice ``original`` plus one slice per anonymized field, every slice
pointing at the existing files (nothing is copied) and carrying the same face boxes (and licence
plates, where the dataset has them), so the App's group view shows the original and each
anonymized version together at full resolution. Runs stay on the source dataset; the audit
dataset names it (``source_dataset``).

A video dataset gets no audit dataset: the App's grid does not play a group's videos in step.
Its versions are compared on the dataset itself: the App's media field switch plays each
version with the face tracks drawn, and the "Side by side" panel shows one frame of every version.
"""

from __future__ import annotations

import fiftyone as fo

from ldfa.plugin.audit.views import SOURCE_KEY, plates_field_of, save_audit_views
from ldfa.plugin.audit.views import source_dataset as source_dataset  # where the audit's users find it
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.runs import anonymized_fields, faces_field_of
from ldfa.plugin.schema import ORIGINAL


def audit_name(dataset: fo.Dataset) -> str:
    return f"{dataset.name}-audit"


def build_audit_dataset(dataset: fo.Dataset, faces_field: str | None = None,
                        fields: list[str] | None = None, name: str | None = None) -> fo.Dataset:
    """(Re)build the grouped audit dataset of ``dataset``; returns it (persistent).

    Rebuilt from scratch each call so it always mirrors the current anonymized files and faces.
    Samples whose anonymized path is missing simply lack that slice. ``faces_field`` defaults to
    the one the anonymization runs recorded.
    """
    if dataset.media_type == "video":
        raise ConfigError(f"dataset '{dataset.name}' holds videos: compare their versions on the dataset "
                          "itself (the App's media field switch, and the Side by side panel of a video)")
    faces_field = faces_field or faces_field_of(dataset)
    fields = fields or list(anonymized_fields(dataset))
    if not fields:
        raise ConfigError(f"dataset '{dataset.name}' has no anonymized field: run anonymize_faces first")
    name = name or audit_name(dataset)
    if fo.dataset_exists(name):
        fo.delete_dataset(name)
    audit = fo.Dataset(name, persistent=True)
    audit.add_group_field("group", default=ORIGINAL)
    audit.info[SOURCE_KEY] = dataset.name
    regions = [faces_field, *[f for f in [plates_field_of(dataset)] if dataset.has_sample_field(f)]]
    samples = []
    for sample in dataset.select_fields([*regions, *fields]).iter_samples():
        group = fo.Group()
        labels = {field: sample[field] for field in regions}
        for slice_name, path in [(ORIGINAL, sample.filepath), *((f, sample[f]) for f in fields)]:
            if path:
                samples.append(fo.Sample(filepath=path, group=group.element(slice_name),
                                         source_id=sample.id, **labels))
    audit.add_samples(samples, progress=False)
    audit.select_group_slices().compute_metadata(progress=False)  # sizes in the App's sidebar
    audit.save()
    return audit


def open_audit(dataset: fo.Dataset, faces_field: str | None = None) -> fo.Dataset:
    """Refresh saved views and the grouped audit dataset, with the review views saved on it too
    (the App opens on it); returns the dataset to launch the App on (a video dataset itself: see
    the module's note)."""
    save_audit_views(dataset, faces_field=faces_field)
    if dataset.media_type == "video":
        return dataset
    audit = build_audit_dataset(dataset, faces_field=faces_field)
    save_audit_views(audit, faces_field=faces_field)
    return audit
