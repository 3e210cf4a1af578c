"""Between FiftyOne and the anonymization core: tasks read from samples, run on the engine,
results written back.

Only the driver uses this module (``anonymize_faces``, ``reanonymize_faces``); the core
(``faces.py``) and the engines never open the database.
"""

from __future__ import annotations

import fiftyone as fo

from ldfa.plugin import failures
from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import (
    IMAGES_PER_CHUNK,
    AnonymizationSummary,
    AnonymizeWorker,
    FaceTask,
    ImageResult,
)
from ldfa.plugin.anonymization.video import VideoAnonymizeWorker
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.engines.run import blocks, run_tasks
from ldfa.plugin.freshness import current_faces
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import declare_fields
from ldfa.plugin.schema import FACE_FACTS, face_fact, faces_digest_field

# Per-face facts on each face detection, `<field>_<name>`, and their types.
_FACT_TYPES = {"seed": fo.IntField, "method": fo.StringField, "skipped": fo.StringField,
               "attempt": fo.IntField}  # of each of schema.FACE_FACTS


def declare_face_facts(dataset: fo.Dataset, faces_field: str, field: str, plates_field: str | None = None) -> None:
    """Declare the per-face (and per-plate) facts in the schema, so the App can filter faces by
    them, and the digest of the faces each image was made from."""
    declare_fields(dataset, {f"{labels}.detections.{face_fact(field, name)}": _FACT_TYPES[name]
                             for labels in filter(None, (faces_field, plates_field)) for name in FACE_FACTS}
                   | {faces_digest_field(field): fo.StringField})


def face_tasks(detections, attempts, bump: frozenset[str] = frozenset(),
               tracks: str | None = None, kind: str = "face") -> tuple[FaceTask, ...]:
    """The faces (or, ``kind`` plate, licence plates) of one image or frame as tasks
    (``freshness.current_faces``); faces in ``bump``
    (label ids) get one attempt more, so a new seed. With ``tracks`` (the video's or sequence's
    name), a face whose detection has a track ``index`` is keyed by ``<tracks>:<index>``. A
    face's ``landmarks``, where detection stored them, ride along (a video's keyframes use them)."""
    labels = detections.detections if detections is not None else []
    return tuple(FaceTask(i, box, attempt + (i in bump),
                          _track_key(tracks, d.index, kind),
                          tuple(map(tuple, d["landmarks"])) if d.has_field("landmarks") and d["landmarks"] else None,
                          kind)
                 for d, (i, box, attempt) in zip(labels, current_faces(detections, attempts) or []))


def _track_key(tracks: str | None, index: int | None, kind: str) -> str | None:
    """A tracked face's (or plate's) key across frames, unique in the dataset: ``<tracks>:<index>``
    (a plate's: ``<tracks>:plate:<index>``, its tracks numbered apart from the faces')."""
    if tracks is None or index is None:
        return None
    return f"{tracks}:{index}" if kind == "face" else f"{tracks}:{kind}:{index}"


def region_tasks(faces, attempts, plates=None, plate_attempts=None, bump: frozenset[str] = frozenset(),
                 tracks: str | None = None) -> tuple[FaceTask, ...] | None:
    """One image's or frame's faces then its licence plates as tasks, in the order
    ``freshness.current_faces`` digests them; None when its faces were never detected."""
    if faces is None:
        return None
    return face_tasks(faces, attempts, bump, tracks) + face_tasks(plates, plate_attempts, bump, tracks, "plate")


def write_results(collection, faces_field: str, field: str, results: list[ImageResult],
                  summary: AnonymizationSummary, set_paths: bool = True, plates_field: str | None = None) -> None:
    """Write a batch of results back: each face's (and plate's) facts and what each image was
    made from, then (``set_paths``) each image's new path, so a path is only ever set once its
    file and facts are complete; failures recorded."""
    labels = {"face": faces_field, "plate": plates_field}
    facts = {(kind, name): {} for kind in labels for name in FACE_FACTS}
    for result in results:
        summary.count(result)
        for face_id, values in result.facts.items():
            for name in FACE_FACTS:
                facts[(values["kind"], name)][face_id] = values[name]
    batch = collection._dataset.select([r.sample_id for r in results])
    for (kind, name), values in facts.items():
        if values:
            # set_label_values: a document save would drop the None of `skipped`
            batch.set_label_values(f"{labels[kind]}.detections.{face_fact(field, name)}", values)
    written = [r for r in results if r.error is None]
    if written:
        collection._dataset.set_values(faces_digest_field(field),
                                       {r.sample_id: r.faces_digest for r in written}, key_field="id")
        if set_paths:
            collection._dataset.set_values(field, {r.sample_id: r.target for r in written}, key_field="id")
    failures.record(collection, field, {r.sample_id: r.error for r in results})


def anonymize_blocks(collection, ids: list[str], read, config: AnonymizationConfig, engine: EngineConfig,
                     faces_field: str, field: str, summary: AnonymizationSummary, label: str,
                     progress: ProgressArg, set_paths: bool = True, plates_field: str | None = None) -> None:
    """Run the anonymization core over the tasks ``read`` makes of ``ids`` (a block at a time)
    on ``engine``, writing each batch of results back as it arrives."""
    video = collection.media_type == "video"
    worker = (VideoAnonymizeWorker if video else AnonymizeWorker).like_here(config)
    with Progress(len(ids), label, progress) as bar:
        for results in run_tasks(blocks(ids, read), worker, engine, 1 if video else IMAGES_PER_CHUNK,
                                 uses_gpu=config.uses_diffusion):
            write_results(collection, faces_field, field, results, summary, set_paths, plates_field)
            bar.update(len(results))
