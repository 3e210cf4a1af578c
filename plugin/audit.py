"""The App audit: a grouped side-by-side dataset and the saved views reviewers start from.

The audit dataset is grouped: slice ``original`` plus one slice per anonymized field, every slice
pointing at the existing files (nothing is copied) and carrying the same face boxes, so the App's
group view shows the original and each anonymized version together at full resolution.
"""

from __future__ import annotations

import fiftyone as fo
from fiftyone import ViewField as F

from ldfa.plugin.embedders import EMBEDDERS
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.report import ORIGINAL, anonymized_fields
from ldfa.plugin.runs import run_config, run_key

SOURCE_KEY = "ldfa_audit_source"  # audit dataset's info key naming the dataset it mirrors
PANEL_NAME = "anonymization_audit"
# face sizes by box area in pixels, as pycocotools' COCOeval ranges small, medium and large
FACE_SIZES = {"small": (0, 32**2), "medium": (32**2, 96**2), "large": (96**2, 1e5**2)}


def audit_name(dataset: fo.Dataset) -> str:
    return f"{dataset.name}-audit"


def build_audit_dataset(dataset: fo.Dataset, faces_field: str = "faces",
                        fields: list[str] | None = None, name: str | None = None) -> fo.Dataset:
    """(Re)build the grouped audit dataset of ``dataset``; returns it (persistent).

    Rebuilt from scratch each call so it always mirrors the current anonymized files and faces.
    Samples whose anonymized path is missing simply lack that slice.
    """
    fields = fields or list(anonymized_fields(dataset))
    if not fields:
        raise ConfigError(f"dataset '{dataset.name}' has no anonymized field: run anonymize_faces first")
    name = name or audit_name(dataset)
    if fo.dataset_exists(name):
        fo.delete_dataset(name)
    audit = fo.Dataset(name, persistent=True)
    audit.add_group_field("group", default=ORIGINAL)
    audit.info[SOURCE_KEY] = dataset.name
    samples = []
    for sample in dataset.select_fields([faces_field, *fields]).iter_samples():
        group = fo.Group()
        faces = sample[faces_field]
        for slice_name, path in [(ORIGINAL, sample.filepath), *((f, sample[f]) for f in fields)]:
            if path:
                samples.append(fo.Sample(filepath=path, group=group.element(slice_name),
                                         source_id=sample.id, **{faces_field: faces}))
    audit.add_samples(samples, progress=False)
    audit.select_group_slices().compute_metadata(progress=False)  # sizes in the App's sidebar
    audit.save()
    return audit


def source_dataset(dataset: fo.Dataset) -> fo.Dataset:
    """The dataset whose runs describe ``dataset``: itself, or the one an audit dataset mirrors."""
    name = dataset.info.get(SOURCE_KEY)
    return fo.load_dataset(name) if name else dataset


def threshold(dataset, field: str, embedder: str) -> float:
    """Same-person threshold recorded by the identity run of ``field`` (or the embedder default)."""
    config = run_config(dataset, run_key("identity", field)) or {}
    return (config.get("thresholds") or {}).get(embedder, EMBEDDERS[embedder].threshold)


def preferred_field(fields: list[str], group_slice: str | None = None) -> str | None:
    """The version a reviewer acts on first: the slice on screen, else LDFA's, else the first."""
    if group_slice in fields:
        return group_slice
    return next((f for f in fields if f.endswith("_ldfa")), fields[0] if fields else None)


def risky_faces(collection, field: str, faces_field: str = "faces", embedder: str = "facenet",
                within: float | None = None):
    """Samples of ``collection`` with only their faces that have a distance on ``field``
    (below ``within`` when given)."""
    dist = F(f"{field}_{embedder}_dist")
    match = dist != None if within is None else (dist != None) & (dist < within)  # noqa: E711
    return collection.filter_labels(faces_field, match, only_matches=True)


def riskiest_faces(collection, field: str, faces_field: str = "faces",
                   embedder: str = "facenet", within: float | None = None):
    """Faces patches of ``field`` sorted by identity distance, smallest (riskiest) first.

    On an audit dataset the patches are cut from the slice of ``field``: the anonymized faces.
    """
    view = risky_faces(_slice(collection, field), field, faces_field, embedder, within)
    return view.to_patches(faces_field).sort_by(f"{faces_field}.{field}_{embedder}_dist")


def lost_faces(collection, field: str, faces_field: str = "faces", size: str | None = None):
    """Samples with only their faces the detector missed on ``field`` (``fn`` of its evaluation,
    ``original`` for the originals), optionally of one COCO size range."""
    match = F(f"eval_{field}_det") == "fn"
    if size is not None:
        low, high = FACE_SIZES[size]
        box = F("bounding_box")
        area = box[2] * F("$metadata.width") * box[3] * F("$metadata.height")
        match = match & (area >= low) & (area < high)
    return collection.filter_labels(faces_field, match, only_matches=True)


def uncertain_faces(collection, faces_field: str = "faces"):
    """Samples with only their uncertain faces: those scoring below the detection run's
    ``confidence`` (found by a second look, at zoom or at a person's head) and those without a
    score (boxes from keypoints). They are anonymized like every face; a reviewer looks at
    them first, to see what else the detector takes for a face."""
    config = run_config(collection, run_key("detect", faces_field)) or {}
    score = F("confidence")
    match = (score == None) | (score < config.get("confidence", 0.5))  # noqa: E711
    return collection.filter_labels(faces_field, match, only_matches=True)


def _slice(collection, field: str):
    """A grouped audit collection flattened to the slice of ``field``; others as they are."""
    if collection.media_type != "group":
        return collection
    return collection.select_group_slices(field if field in collection.group_slices else ORIGINAL)


def save_audit_views(dataset: fo.Dataset, faces_field: str = "faces", embedder: str = "facenet",
                     small_face_px: int = 32) -> list[str]:
    """Create (or refresh) the reviewers' saved views; returns their names.

    Per anonymized field: riskiest faces (within the same-person threshold, riskiest first) and
    faces lost after anonymization (misses of the detection evaluation). Plus small faces
    (shorter side under ``small_face_px`` pixels), uncertain faces (lowest score first) and
    samples where anonymization failed.
    Called after evaluation, since the views need the distances and eval keys.
    """
    views = {}
    for field in anonymized_fields(dataset):
        if dataset.has_field(f"{faces_field}.detections.{field}_{embedder}_dist"):
            views[f"ldfa-riskiest-{field}"] = riskiest_faces(
                dataset, field, faces_field, embedder, threshold(dataset, field, embedder))
        eval_key = f"eval_{field}_det"
        if dataset.has_field(f"{faces_field}.detections.{eval_key}"):
            views[f"ldfa-lost-{field}"] = lost_faces(dataset, field, faces_field).to_patches(
                faces_field)
    dataset.compute_metadata(progress=False)
    box = F("bounding_box")
    shorter = (box[2] * F("$metadata.width")).min(box[3] * F("$metadata.height"))
    views["ldfa-small-faces"] = dataset.filter_labels(
        faces_field, shorter < small_face_px, only_matches=True).to_patches(faces_field)
    views["ldfa-uncertain-faces"] = uncertain_faces(dataset, faces_field).to_patches(
        faces_field).sort_by(F(f"{faces_field}.confidence"))
    failed_tags = [f"{f}_failed" for f in anonymized_fields(dataset)]
    views["ldfa-failed"] = dataset.match_tags(failed_tags)
    for name, view in views.items():
        if dataset.has_saved_view(name):
            dataset.delete_saved_view(name)
        dataset.save_view(name, view, description="ldfa audit")
    return list(views)


def open_audit(dataset: fo.Dataset, faces_field: str = "faces") -> fo.Dataset:
    """Refresh saved views and the grouped audit dataset; returns the dataset to launch the App on."""
    save_audit_views(dataset, faces_field=faces_field)
    return build_audit_dataset(dataset, faces_field=faces_field)


def audit_spaces() -> fo.Space:
    """App layout with the sample grid beside the audit panel (``fo.launch_app(..., spaces=)``).

    Each side names its tab as the active child: without it the App draws the tabs but leaves
    both bodies empty.
    """
    grid = fo.Panel(type="Samples", pinned=True)
    audit = fo.Panel(type=PANEL_NAME)
    return fo.Space(children=[fo.Space(children=[grid], active_child=grid.component_id),
                              fo.Space(children=[audit], active_child=audit.component_id)],
                    orientation="horizontal", sizes=[0.45, 0.55])
