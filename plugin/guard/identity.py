"""Identity guard: re-anonymize faces that still look like the same person.

After anonymization, every face (or the given ``face_ids``) whose identity distance is still
below the embedder's same-person threshold is re-anonymized with a new seed
(``reanonymize_faces``, attempt + 1), up to ``max_tries`` times. Faces still within it are
tagged ``needs_review`` on their detection so the App can filter them. Faces without a usable
anonymized crop or too small to judge (identity undefined) are not re-done. Distances come from
the field's identity run (measured first when there is none), so the guard judges with the
same models and thresholds as the report. The guard stands above the stages, beside the
pipeline: it measures (the metrics stage) and redoes (the anonymization stage), so neither
stage imports the other.
"""

from __future__ import annotations

from ldfa.plugin.anonymization.faces import AnonymizationSummary
from ldfa.plugin.anonymization.redo import reanonymize_faces
from ldfa.plugin.deprecation import renamed
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.guard.config import GuardConfig
from ldfa.plugin.metrics.identity import compute_identity_distance, recorded_config, remeasure_faces
from ldfa.plugin.options import check
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import faces_field_of
from ldfa.plugin.schema import NEEDS_REVIEW, identity_distance


@renamed(out_field="field")
def guard_identity(
    collection,
    field: str,
    embedder: str = "facenet",
    threshold: float | None = None,
    max_tries: int = GuardConfig.max_tries,
    face_ids: list[str] | None = None,
    progress: ProgressArg = True,
    engine: str | dict | EngineConfig = "local",
) -> dict:
    """Re-anonymize faces within ``threshold`` of their original, up to ``max_tries`` times.

    The faces are those the anonymization run of ``field`` replaced (its recorded faces field).
    Returns ``checked`` and ``redone`` (re-anonymizations) counts and ``needs_review``
    (the face ids left within the threshold). Measuring and re-anonymizing run on ``engine``.
    """
    check(GuardConfig(max_tries))
    faces_field = faces_field_of(collection, field)
    config = recorded_config(collection, field)
    if config is None or embedder not in config.embedders:
        compute_identity_distance(collection, field, faces_field=faces_field, progress=False,
                                  embedders=[*(config.embedders if config else ()), embedder],
                                  engine=engine)
        config = recorded_config(collection, field)
    threshold = config.thresholds[embedder] if threshold is None else threshold
    wanted = set(face_ids) if face_ids is not None else set(
        collection.values(f"{faces_field}.detections.id", unwind=True))
    checked, redone = len(wanted), 0
    close = _within(collection, faces_field, identity_distance(field, embedder), threshold, wanted)
    with Progress(max_tries, "Identity guard", progress) as bar:
        for _ in range(max_tries):
            if not close:
                break
            redo_and_measure(collection, field, close, engine=engine)
            redone += len(close)
            close = _within(collection, faces_field, identity_distance(field, embedder),
                            threshold, close)
            bar.update()
    _tag(collection, faces_field, close)
    return {"checked": checked, "redone": redone,
            "threshold": threshold, "embedder": embedder, "needs_review": sorted(close)}


def redo_and_measure(collection, field: str, face_ids,
                     engine: str | dict | EngineConfig = "local") -> AnonymizationSummary:
    """Re-anonymize ``face_ids`` with a new seed, in place, then measure their identity distances
    again with the models of the field's identity run: one redo, as the guard and the reviewer
    make it."""
    summary = reanonymize_faces(collection, field, sorted(face_ids), progress=False, engine=engine)
    remeasure_faces(collection, field, face_ids, engine=engine)
    return summary


def _within(collection, faces_field, distance: str, threshold, face_ids) -> set[str]:
    """Those of ``face_ids`` whose recorded distance is still below ``threshold``."""
    faces = collection.select_labels(ids=list(face_ids), fields=faces_field)
    ids, dists = faces.values([f"{faces_field}.detections.id",
                               f"{faces_field}.detections.{distance}"], unwind=True)
    return {i for i, d in zip(ids, dists) if d is not None and d < threshold}


def _tag(collection, faces_field, face_ids: set[str]) -> None:
    """Tag ``face_ids`` ``needs_review`` and untag faces of the collection that passed."""
    collection.untag_labels(NEEDS_REVIEW, label_fields=[faces_field])
    if face_ids:
        collection.select_labels(ids=list(face_ids), fields=faces_field).tag_labels(
            NEEDS_REVIEW, label_fields=[faces_field])
