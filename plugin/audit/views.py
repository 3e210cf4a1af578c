"""The reviewers' queues: faces still close to their original, faces detectors lost, small and
uncertain faces, failed images, as FiftyOne views and saved views.

Every name comes from ``ldfa.plugin.schema`` and every choice a run made (its faces field, its
embedders and thresholds, its prediction field and eval key) from the run's record, so a view
shows what the run measured, whatever names the user chose.
"""

from __future__ import annotations

import fiftyone as fo
from fiftyone import ViewField as F

from ldfa.plugin.runs import anonymized_fields, faces_field_of, run_config, run_results
from ldfa.plugin.schema import (
    DETECT,
    DETECTION_EVAL,
    FACES,
    FAILED_VIEW,
    IDENTITY,
    ORIGINAL,
    SMALL_FACES_VIEW,
    UNCERTAIN_FACES_VIEW,
    failed_tag,
    lost_view,
    riskiest_view,
    run_key,
    same_person,
    threshold_ratio,
)

# face sizes by box area in pixels, as pycocotools' COCOeval ranges small, medium and large
FACE_SIZES = {"small": (0, 32**2), "medium": (32**2, 96**2), "large": (96**2, 1e5**2)}


def embedder_of(dataset, field: str) -> str:
    """The embedder whose distances the audit shows for ``field``: FaceNet when its identity run
    measured it, else the run's first embedder (FaceNet when nothing ran yet)."""
    embedders = (run_config(dataset, run_key(IDENTITY, field)) or {}).get("embedders") or ["facenet"]
    return "facenet" if "facenet" in embedders else embedders[0]


def risky_faces(collection, field: str, faces_field: str = FACES, same_person_only: bool = True):
    """Samples of ``collection`` with only their faces on ``field`` that some identity model
    still calls the same person (the strictest judge's verdict, ``<field>_same_person``); with
    ``same_person_only=False``, every face a model measured a distance for."""
    match = (F(same_person(field)) == True if same_person_only  # noqa: E712
             else F(threshold_ratio(field)) != None)  # noqa: E711
    return collection.filter_labels(faces_field, match, only_matches=True)


def riskiest_faces(collection, field: str, faces_field: str = FACES, same_person_only: bool = False):
    """Faces patches of ``field`` riskiest first: by the closest distance of any model, in units
    of its same-person threshold (``<field>_threshold_ratio``).

    On an audit dataset the patches are cut from the slice of ``field``: the anonymized faces.
    """
    view = risky_faces(_slice(collection, field), field, faces_field, same_person_only)
    return view.to_patches(faces_field).sort_by(f"{faces_field}.{threshold_ratio(field)}")


def lost_faces(collection, field: str, faces_field: str = FACES, size: str | None = None,
               eval_key: str | None = None):
    """Samples with only their faces the detector missed on version ``field`` (``fn`` of the
    evaluation its detection run recorded, or of ``eval_key``), optionally of one COCO size
    range."""
    match = F(eval_key or detection_eval_key(collection, field)) == "fn"
    if size is not None:
        low, high = FACE_SIZES[size]
        box = F("bounding_box")
        area = box[2] * F("$metadata.width") * box[3] * F("$metadata.height")
        match = match & (area >= low) & (area < high)
    return collection.filter_labels(faces_field, match, only_matches=True)


def detection_eval_key(collection, field: str) -> str | None:
    """The eval key (per-face ``tp``/``fp``/``fn``) the detection evaluation of ``field`` recorded."""
    return (run_results(collection, run_key(DETECTION_EVAL, field)) or {}).get("eval_key")


def uncertain_faces(collection, faces_field: str = FACES):
    """Samples with only their uncertain faces: those scoring below the detection run's
    ``confidence`` (found by a second look, at zoom or at a person's head) and those without a
    score (boxes from keypoints). They are anonymized like every face; a reviewer looks at
    them first, to see what else the detector takes for a face."""
    config = run_config(collection, run_key(DETECT, faces_field)) or {}
    score = F("confidence")
    match = (score == None) | (score < config.get("confidence", 0.5))  # noqa: E711
    return collection.filter_labels(faces_field, match, only_matches=True)


def _slice(collection, field: str):
    """A grouped audit collection flattened to the slice of ``field``; others as they are."""
    if collection.media_type != "group":
        return collection
    return collection.select_group_slices(field if field in collection.group_slices else ORIGINAL)


def save_audit_views(dataset: fo.Dataset, faces_field: str | None = None,
                     small_face_px: int = 32) -> list[str]:
    """Create (or refresh) the reviewers' saved views; returns their names.

    Per anonymized field: riskiest faces (those any model of its identity run still calls the
    same person, riskiest first) and faces lost after anonymization (misses of its
    detection evaluation). Plus small faces (shorter side under ``small_face_px`` pixels),
    uncertain faces (lowest score first) and samples where anonymization failed. Called after
    evaluation, since the views need the distances and eval keys.
    """
    faces_field = faces_field or faces_field_of(dataset)
    views = {}
    for field in anonymized_fields(dataset):
        if dataset.has_field(f"{faces_field}.detections.{same_person(field)}"):
            views[riskiest_view(field)] = riskiest_faces(dataset, field, faces_field,
                                                         same_person_only=True)
        key = detection_eval_key(dataset, field)
        if key and dataset.has_field(f"{faces_field}.detections.{key}"):
            views[lost_view(field)] = lost_faces(dataset, field, faces_field).to_patches(faces_field)
    dataset.compute_metadata(progress=False)
    box = F("bounding_box")
    shorter = (box[2] * F("$metadata.width")).min(box[3] * F("$metadata.height"))
    views[SMALL_FACES_VIEW] = dataset.filter_labels(
        faces_field, shorter < small_face_px, only_matches=True).to_patches(faces_field)
    views[UNCERTAIN_FACES_VIEW] = uncertain_faces(dataset, faces_field).to_patches(
        faces_field).sort_by(F(f"{faces_field}.confidence"))
    views[FAILED_VIEW] = dataset.match_tags([failed_tag(f) for f in anonymized_fields(dataset)])
    for name, view in views.items():
        if dataset.has_saved_view(name):
            dataset.delete_saved_view(name)
        dataset.save_view(name, view, description="ldfa audit")
    return list(views)
