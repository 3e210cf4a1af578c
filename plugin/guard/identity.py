"""Identity guard: re-anonymize faces that still look like the same person.

After anonymization, every face (or the given ``face_ids``) that any identity model still calls
the same person (``same_person_verdict``: the strictest judge, as the report and the audit
judge) is re-anonymized with a new seed (``reanonymize_faces``, attempt + 1), up to
``max_tries`` times. Faces still recognised are tagged ``needs_review`` on their detection so
the App can filter them. Faces no model can judge (too small, no usable crop) are not re-done.
Distances come from the field's identity run (measured first when there is none), so the guard
judges with the same models and thresholds as the report. The guard stands above the stages, beside the
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
from ldfa.plugin.metrics.verdict import same_person_verdict
from ldfa.plugin.models.embedders import DEFAULT_EMBEDDERS
from ldfa.plugin.options import check
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import faces_field_of
from ldfa.plugin.schema import NEEDS_REVIEW, identity_distance


@renamed(out_field="field", embedder=("embedders", lambda name: [name]))
def guard_identity(
    collection,
    field: str,
    embedders: list[str] | None = None,
    thresholds: dict[str, float] | None = None,
    max_tries: int = GuardConfig.max_tries,
    face_ids: list[str] | None = None,
    progress: ProgressArg = True,
    engine: str | dict | EngineConfig = "local",
) -> dict:
    """Re-anonymize faces some model still recognises, up to ``max_tries`` times.

    The faces are those the anonymization run of ``field`` replaced (its recorded faces field).
    ``embedders`` judge (default: every model of the field's identity run, else
    ``DEFAULT_EMBEDDERS``), each at its recorded threshold unless ``thresholds`` names another.
    Returns ``checked`` and ``redone`` (re-anonymizations) counts and ``needs_review`` (the face
    ids still recognised). Measuring and re-anonymizing run on ``engine``.
    """
    check(GuardConfig(max_tries))
    faces_field = faces_field_of(collection, field)
    config = recorded_config(collection, field)
    embedders = list(embedders or (config.embedders if config else DEFAULT_EMBEDDERS))
    if config is None or set(embedders) - set(config.embedders):
        compute_identity_distance(collection, field, faces_field=faces_field, progress=False,
                                  embedders=sorted({*(config.embedders if config else ()), *embedders}),
                                  engine=engine)
        config = recorded_config(collection, field)
    thresholds = {name: (thresholds or {}).get(name, config.thresholds[name]) for name in embedders}
    wanted = set(face_ids) if face_ids is not None else set(
        collection.values(f"{faces_field}.detections.id", unwind=True))
    checked, redone = len(wanted), 0
    close = _recognised(collection, faces_field, field, thresholds, wanted)
    with Progress(max_tries, "Identity guard", progress) as bar:
        for _ in range(max_tries):
            if not close:
                break
            redo_and_measure(collection, field, close, engine=engine)
            redone += len(close)
            close = _recognised(collection, faces_field, field, thresholds, close)
            bar.update()
    _tag(collection, faces_field, close)
    return {"checked": checked, "redone": redone, "thresholds": thresholds,
            "needs_review": sorted(close)}


def redo_and_measure(collection, field: str, face_ids,
                     engine: str | dict | EngineConfig = "local") -> AnonymizationSummary:
    """Re-anonymize ``face_ids`` with a new seed, in place, then measure their identity distances
    again with the models of the field's identity run: one redo, as the guard and the reviewer
    make it."""
    summary = reanonymize_faces(collection, field, sorted(face_ids), progress=False, engine=engine)
    remeasure_faces(collection, field, face_ids, engine=engine)
    return summary


def _recognised(collection, faces_field, field: str, thresholds: dict[str, float], face_ids) -> set[str]:
    """Those of ``face_ids`` that some model of ``thresholds`` still calls the same person, by
    their recorded distances."""
    faces = collection.select_labels(ids=list(face_ids), fields=faces_field)
    names = list(thresholds)
    ids, *dists = faces.values([f"{faces_field}.detections.id"] + [
        f"{faces_field}.detections.{identity_distance(field, name)}" for name in names], unwind=True)
    return {i for i, *d in zip(ids, *dists) if same_person_verdict(dict(zip(names, d)), thresholds)}


def _tag(collection, faces_field, face_ids: set[str]) -> None:
    """Tag ``face_ids`` ``needs_review`` and untag faces of the collection that passed."""
    collection.untag_labels(NEEDS_REVIEW, label_fields=[faces_field])
    if face_ids:
        collection.select_labels(ids=list(face_ids), fields=faces_field).tag_labels(
            NEEDS_REVIEW, label_fields=[faces_field])
