"""The reviewers' queues: each version's faces by review status (at risk, not measurable,
replaced) and its licence plates likewise (their own queue), faces still close to their
original, faces detectors lost, small and uncertain faces, failed images, videos and sequence
frames with a face left in the clear, as FiftyOne views and saved views.

Every name comes from ``ldfa.plugin.schema`` and every choice a run made (its faces field, its
embedders and thresholds, its prediction field and eval key) from the run's record, so a view
shows what the run measured, whatever names the user chose. The runs live on the source dataset;
the grouped audit dataset (``dataset.py``) names it, and its views are cut from the slice of the
version they show.

A video's faces are on its frames, where the per-face image metrics do not run (they measure
sampled frames in the companion dataset ``<name>-frames``, whose faces get their status there):
a video's queue is its leaks over time (``leaks_view``).

Plates (``ldfa.plugin.schema.PLATES``) carry the same status field as faces, written by the plate
measures (``ldfa.plugin.metrics.plates``) from the share of the plate changed and the text OCR
still reads there; the same filtering cuts their queues, ordered by what decided them.
"""

from __future__ import annotations

import fiftyone as fo
from fiftyone import ViewField as F

from ldfa.plugin.errors import ConfigError
from ldfa.plugin.freshness import faces_path
from ldfa.plugin.runs import anonymized_fields, faces_field_of, run_config, run_results
from ldfa.plugin.schema import (
    ANONYMIZE,
    AT_RISK,
    DETECT,
    DETECTION_EVAL,
    FACE_STATUSES,
    FACES,
    FACES_UNDER_PX,
    FAILED_VIEW,
    IDENTITY,
    NOT_MEASURABLE,
    ORIGINAL,
    PLATE_EVAL,
    PLATES,
    SEQUENCE,
    SEQUENCE_FRAME,
    TEMPORAL,
    UNCERTAIN_FACES_VIEW,
    face_status,
    faces_under_view,
    failed_tag,
    leaks_field,
    leaks_view,
    lost_view,
    plate_fact,
    plates_queue_view,
    queue_view,
    residual,
    riskiest_view,
    run_key,
    same_person,
    threshold_ratio,
)

# face sizes by box area in pixels, as pycocotools' COCOeval ranges (its words; AP under 32² px and so on)
FACE_SIZES = {"area under 32² px": (0, 32**2), "area 32²-96² px": (32**2, 96**2), "area over 96² px": (96**2, 1e5**2)}
SOURCE_KEY = "ldfa_audit_source"  # audit dataset's info key naming the dataset it mirrors


def source_dataset(dataset: fo.Dataset) -> fo.Dataset:
    """The dataset whose runs describe ``dataset``: itself, or the one an audit dataset mirrors."""
    name = dataset.info.get(SOURCE_KEY)
    return fo.load_dataset(name) if name else dataset


def embedder_of(dataset, field: str) -> str:
    """The embedder whose own mean distance the audit's table shows for ``field``, as a figure of
    that model: FaceNet when its identity run measured it, else the run's first embedder (FaceNet
    when nothing ran yet). It decides nothing: whether a face is at risk is its status and verdict
    over every model (``faces_with_status``, ``risky_faces``)."""
    runs = source_dataset(dataset._dataset)
    embedders = (run_config(runs, run_key(IDENTITY, field)) or {}).get("embedders") or ["facenet"]
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


def faces_with_status(collection, version: str, status: str, faces_field: str = FACES):
    """Patches of ``version``'s faces whose review status (``<version>_status``) is ``status``,
    riskiest first: at risk by the closest model's distance in units of its threshold, then
    (faces no model judges) by residual similarity, most kept first; not measurable by residual,
    most kept first, then smaller faces first; replaced in any order. On an audit dataset the
    patches are cut from the slice of ``version``: the anonymized faces."""
    view = _with_status(collection, version, status, faces_field)
    ratio, kept = (F(f"{faces_field}.{name}") for name in (threshold_ratio(version), residual(version)))
    most_kept = ((kept != None).if_else(kept, -2.0), -1)  # noqa: E711  (not measured: last)
    if status == AT_RISK:
        return view.sort_by([((ratio != None).if_else(ratio, 1e9), 1), most_kept])  # noqa: E711
    if status == NOT_MEASURABLE:
        box = F(f"{faces_field}.bounding_box")
        shorter = (box[2] * F("metadata.width")).min(box[3] * F("metadata.height"))
        return view.sort_by([most_kept, (shorter, 1)])
    return view


def plates_with_status(collection, version: str, status: str, plates_field: str = PLATES):
    """Patches of ``version``'s licence plates whose review status is ``status``, riskiest first:
    at risk by the characters of the original's text OCR still recovers, most first, then by the
    share of the plate changed, least first; not measurable by that share, least first; replaced
    in any order. Plates not measured come last. On an audit dataset, cut from the slice of
    ``version``."""
    view = _with_status(collection, version, status, plates_field)
    recovered, cover = (F(f"{plates_field}.{plate_fact(version, name)}") for name in ("recovered", "cover"))
    least_changed = ((cover != None).if_else(cover, 2.0), 1)  # noqa: E711  (not measured: last)
    if status == AT_RISK:
        return view.sort_by([((recovered != None).if_else(recovered, -1), -1), least_changed])  # noqa: E711
    if status == NOT_MEASURABLE:
        return view.sort_by([least_changed])
    return view


def _with_status(collection, version: str, status: str, field: str):
    """Patches of the faces or plates of ``field`` whose status in ``version`` is ``status``."""
    if status not in FACE_STATUSES:
        raise ConfigError(f"unknown review status '{status}': choose one of {', '.join(FACE_STATUSES)}")
    return _slice(collection, version).filter_labels(field, F(face_status(version)) == status,
                                                     only_matches=True).to_patches(field)


def status_counts(collection, version: str, faces_field: str = FACES) -> dict:
    """How many of ``version``'s faces have each review status, ``missed`` (faces the detector no
    longer finds on it; None when its detection evaluation never ran), ``faces`` and ``judged``
    (faces some identity model can judge: the denominator of the same-person rate)."""
    view, faces, source = _slice(collection, version), f"{faces_field}.detections", source_dataset(collection._dataset)
    key = detection_eval_key(collection, version)
    verdict, evaluated = (f"{faces}.{name}" for name in (same_person(version), key))
    missed = view.count_values(evaluated).get("fn", 0) if key and source.has_field(evaluated) else None
    return {**(_tally(collection, version, faces_field) or dict.fromkeys(FACE_STATUSES, 0)), "missed": missed,
            "faces": view.count(faces), "judged": view.count(verdict) if source.has_field(verdict) else 0}


def plate_counts(collection, version: str, plates_field: str = PLATES) -> dict:
    """How many of ``version``'s licence plates have each review status (None when they were never
    measured) and ``plates``, how many there are."""
    tally = _tally(collection, version, plates_field) or dict.fromkeys(FACE_STATUSES)
    return {**tally, "plates": _slice(collection, version).count(f"{plates_field}.detections")}


def _tally(collection, version: str, field: str) -> dict | None:
    """Status -> how many of the faces or plates of ``field`` have it in ``version``; None when
    none has a status there."""
    status = f"{field}.detections.{face_status(version)}"
    if not source_dataset(collection._dataset).has_field(status):
        return None
    found = _slice(collection, version).count_values(status)
    return {s: found.get(s, 0) for s in FACE_STATUSES}


def plates_field_of(collection) -> str:
    """The Detections field of ``collection``'s licence plates: the one its anonymization runs
    replaced, or its plate measures read (``plates_field`` of their records), else ``plates``."""
    for version in anonymized_fields(collection):
        for kind in (ANONYMIZE, PLATE_EVAL):
            field = (run_config(collection, run_key(kind, version)) or {}).get("plates_field")
            if field:
                return field
    return PLATES


def lost_faces(collection, field: str, faces_field: str = FACES, size: str | None = None,
               eval_key: str | None = None):
    """Samples with only their faces the detector missed on version ``field`` (``fn`` of the
    evaluation its detection run recorded, or of ``eval_key``), optionally of one of COCO's area
    ranges (a key of ``FACE_SIZES``)."""
    match = F(eval_key or detection_eval_key(collection, field)) == "fn"
    if size is not None:
        low, high = FACE_SIZES[size]
        box = F("bounding_box")
        area = box[2] * F("$metadata.width") * box[3] * F("$metadata.height")
        match = match & (area >= low) & (area < high)
    return collection.filter_labels(faces_field, match, only_matches=True)


def detection_eval_key(collection, field: str) -> str | None:
    """The eval key (per-face ``tp``/``fp``/``fn``) the detection evaluation of ``field`` recorded."""
    runs = source_dataset(collection._dataset)
    return (run_results(runs, run_key(DETECTION_EVAL, field)) or {}).get("eval_key")


def uncertain_faces(collection, faces_field: str = FACES):
    """Samples with only their uncertain faces: those scoring below the detection run's
    ``confidence`` (found by a second look, at zoom or at a person's head) and those without a
    score (boxes from keypoints, or filled in by the tracker). They are anonymized like every
    face; a reviewer looks at them first, to see what else the detector takes for a face."""
    config = run_config(source_dataset(collection._dataset), run_key(DETECT, faces_field)) or {}
    score = F("confidence")
    match = (score == None) | (score < config.get("confidence", 0.5))  # noqa: E711
    return collection.filter_labels(faces_path(collection, faces_field), match, only_matches=True)


def over_time(collection) -> bool:
    """Whether ``collection`` is measured over time: videos, or images in frame sequences."""
    return collection.media_type == "video" or collection.has_field(SEQUENCE)


def temporal_results(collection, field: str) -> dict | None:
    """The totals the temporal run of version ``field`` recorded, or None when it never ran."""
    return run_results(collection, run_key(TEMPORAL, field))


def clip_leaks(collection, field: str, clip: str) -> dict[int, set[int]] | None:
    """Frame number -> the tracks version ``field`` left in the clear there, in one clip (a video's
    path or a sequence's name), as its temporal run found them; None when that run never ran."""
    results = temporal_results(collection, field)
    if results is None:
        return None
    frames: dict[int, set[int]] = {}
    for track in results["leaks"]["tracks"]:
        if track["clip"] == clip:
            for number in track["frames"]:
                frames.setdefault(number, set()).add(track["track"])
    return frames


def leaking_samples(collection, field: str):
    """The videos (most leaked face frames first) or sequence images (in frame order) where
    version ``field`` left a face in the clear, as its temporal run measured them."""
    view = collection.match(F(leaks_field(field)) > 0)
    if collection.media_type == "video":
        return view.sort_by(leaks_field(field), reverse=True)
    return view.sort_by([(SEQUENCE, 1), (SEQUENCE_FRAME, 1)])


def leaking_track(collection, clip: str, track: int, frames: list[int], faces_field: str = FACES):
    """One leaking track as its temporal run lists it (``clip``: a video's path or a sequence's
    name; ``frames``: the frame numbers where it leaked): the clip's samples holding those frames,
    with only that track's faces."""
    if collection.media_type == "video":
        view = collection.match(F("filepath") == clip)
    else:
        view = collection.match((F(SEQUENCE) == clip) & F(SEQUENCE_FRAME).is_in(frames))
    return view.filter_labels(faces_path(collection, faces_field), F("index") == track)


def mirrored(audit, view):
    """The samples of the audit collection ``audit`` copied from ``view``'s samples (``source_id``)."""
    return audit.match(F("source_id").is_in(view.values("id")))


def _slice(collection, field: str):
    """A grouped audit collection flattened to the slice of ``field``; others as they are."""
    if collection.media_type != "group":
        return collection
    return collection.select_group_slices(field if field in collection.group_slices else ORIGINAL)


def save_audit_views(dataset: fo.Dataset, faces_field: str | None = None,
                     small_face_px: int = FACES_UNDER_PX) -> list[str]:
    """Create (or refresh) the reviewers' saved views; returns their names.

    Per anonymized field: its faces by review status (``queue_view``: at risk, not measurable,
    replaced, riskiest first as ``faces_with_status`` orders them), its licence plates likewise
    where they were measured (``plates_queue_view``, ``plates_with_status``), riskiest faces (those any
    model of its identity run still calls the same person) and faces lost after anonymization
    (misses of its detection evaluation). Plus the faces under ``small_face_px`` pixels (shorter
    side; ``faces_under_view``), uncertain faces (lowest score first) and samples where
    anonymization failed. Called after evaluation, since the views need the statuses, distances
    and eval keys. Videos and frame sequences measured over time also get, per version, the
    samples with a face left in the clear (``leaks_view``). A video's faces are on its frames:
    its views hold the videos with only those faces (patches of video frames would need
    FiftyOne to cut the frames with ffmpeg).

    On a grouped audit dataset (``open_audit`` saves them there too) each view is cut from the
    slice of its version (faces by size and uncertain faces: the originals'); failed images are samples
    of the source, tagged there, so that view stays on the source.
    """
    source = source_dataset(dataset)
    faces_field, plates_field = faces_field or faces_field_of(source), plates_field_of(source)
    grouped, video = dataset.media_type == "group", dataset.media_type == "video"
    views = {}
    for field in anonymized_fields(source):  # the faces' attributes are declared on the source
        if source.has_field(f"{faces_field}.detections.{face_status(field)}"):
            views.update({queue_view(field, status): faces_with_status(dataset, field, status, faces_field)
                          for status in FACE_STATUSES})
        if source.has_field(f"{plates_field}.detections.{face_status(field)}"):
            views.update({plates_queue_view(field, status): plates_with_status(dataset, field, status, plates_field)
                          for status in FACE_STATUSES})
        if source.has_field(f"{faces_field}.detections.{same_person(field)}"):
            views[riskiest_view(field)] = riskiest_faces(dataset, field, faces_field,
                                                         same_person_only=True)
        key = detection_eval_key(dataset, field)
        if key and source.has_field(f"{faces_field}.detections.{key}"):
            views[lost_view(field)] = lost_faces(_slice(dataset, field), field, faces_field,
                                                 eval_key=key).to_patches(faces_field)
        if temporal_results(source, field) is not None:
            leaking = leaking_samples(source, field)
            views[leaks_view(field)] = mirrored(_slice(dataset, field), leaking) if grouped else leaking
    box = F("bounding_box")
    if video:  # PyAV's metadata, set on import: compute_metadata would need ffprobe
        width, height = F("$metadata.frame_width"), F("$metadata.frame_height")
    else:
        if not grouped:  # an audit dataset's slices got theirs when it was built
            dataset.compute_metadata(progress=False)
        width, height = F("$metadata.width"), F("$metadata.height")
    shorter = (box[2] * width).min(box[3] * height)
    originals = _slice(dataset, ORIGINAL)
    small = originals.filter_labels(faces_path(dataset, faces_field), shorter < small_face_px, only_matches=True)
    uncertain = uncertain_faces(originals, faces_field)
    views[faces_under_view(small_face_px)] = small if video else small.to_patches(faces_field)
    views[UNCERTAIN_FACES_VIEW] = uncertain if video else uncertain.to_patches(faces_field).sort_by(
        F(f"{faces_field}.confidence"))
    if not grouped:
        views[FAILED_VIEW] = dataset.match_tags([failed_tag(f) for f in anonymized_fields(dataset)])
    for name, view in views.items():
        if dataset.has_saved_view(name):
            dataset.delete_saved_view(name)
        dataset.save_view(name, view, description="ldfa audit")
    return list(views)
