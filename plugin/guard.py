"""Identity guard: re-anonymize faces that still look like the same person.

After anonymization, every face (or the given ``face_ids``) whose identity distance is still
below the embedder's same-person threshold is re-anonymized with a new seed
(``reanonymize_faces``, attempt + 1), up to ``max_tries`` times. Faces still within it are
tagged ``needs_review`` on their detection so the App can filter them. Faces without a usable
anonymized crop (identity undefined) are not re-done.
"""

from __future__ import annotations


from ldfa.plugin.anonymize import reanonymize_faces
from ldfa.plugin.embedders import load_embedder
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.identity import remeasure_faces
from ldfa.plugin.progress import Progress, ProgressArg

REVIEW_TAG = "needs_review"


def guard_identity(
    collection,
    out_field: str,
    faces_field: str = "faces",
    embedder: str = "facenet",
    threshold: float | None = None,
    max_tries: int = 3,
    face_ids: list[str] | None = None,
    progress: ProgressArg = True,
) -> dict:
    """Re-anonymize faces within ``threshold`` of their original, up to ``max_tries`` times.

    Returns counts: ``checked``, ``redone`` (re-anonymizations), ``passed`` and ``needs_review``
    (the face ids left within the threshold).
    """
    if max_tries < 0:
        raise ConfigError("max_tries must be >= 0")
    model = load_embedder(embedder)
    threshold = model.threshold if threshold is None else threshold
    dist_key = f"{out_field}_{embedder}_dist"
    wanted = set(face_ids) if face_ids is not None else set(
        collection.values(f"{faces_field}.detections.id", unwind=True))
    checked, redone, close = len(wanted), 0, set()
    with Progress(max_tries + 1, "Identity guard", progress) as bar:
        for attempt in range(max_tries + 1):
            close = _within(collection, out_field, faces_field, model, dist_key, threshold, wanted)
            bar.update()
            if not close or attempt == max_tries:
                break
            reanonymize_faces(collection, out_field, sorted(close), progress=False)
            redone += len(close)
            wanted = close
    _tag(collection, faces_field, close)
    return {"checked": checked, "redone": redone,
            "threshold": threshold, "embedder": embedder, "needs_review": sorted(close)}


def _within(collection, out_field, faces_field, model, dist_key, threshold, face_ids) -> set[str]:
    """Measure ``face_ids`` again; return those still closer than ``threshold``."""
    remeasure_faces(collection, out_field, face_ids, faces_field, embedders=[model.name])
    faces = collection.select_labels(ids=list(face_ids), fields=faces_field)
    ids, dists = faces.values([f"{faces_field}.detections.id",
                               f"{faces_field}.detections.{dist_key}"], unwind=True)
    return {i for i, d in zip(ids, dists) if d is not None and d < threshold}


def _tag(collection, faces_field, face_ids: set[str]) -> None:
    """Tag ``face_ids`` ``needs_review`` and untag faces of the collection that passed."""
    for sample in collection.iter_samples(autosave=True, progress=False):
        if not sample[faces_field]:
            continue
        for face in sample[faces_field].detections:
            tags = [t for t in (face.tags or []) if t != REVIEW_TAG]
            face.tags = tags + [REVIEW_TAG] if face.id in face_ids else tags
