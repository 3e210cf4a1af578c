"""One pass of metrics over a collection's original/version pairs, on either engine.

The driver reads each block's pair tasks from FiftyOne; the engine runs every metric's judge on
each pair (``pair_core.PairWorker``: each image decoded once, however many metrics look at it);
each metric writes its batch of records back as it arrives. Several metrics of one version
(``ldfa evaluate``, the comparison report) share one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.engines.run import blocks, run_tasks
from ldfa.plugin.metrics.pair_core import FaceRef, PairTask, PairWorker
from ldfa.plugin.metrics.pairs import Pair
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.schema import ORIGINAL, media_field


class Metric(Protocol):
    """A metric's driver side in a pass: its judge runs on the engine, ``write`` takes each
    batch of its records, ``[(sample id, record)]``, on the driver."""

    name: str
    judge: Callable[[PairTask, Pair], object]  # picklable; its models load once per process

    def write(self, records: list[tuple[str, object]]) -> None: ...

    def finish(self) -> dict: ...  # the run's statistics, recorded once every batch is written


def judge_pairs(collection, field: str, faces_field: str | None, metrics: list[Metric],
                engine: EngineConfig, progress: ProgressArg, label: str,
                ids: list[str] | None = None) -> None:
    """Run ``metrics`` over the pairs (original, version ``field``) of the samples ``ids``
    (default: all of ``collection``) with the faces of ``faces_field`` (None: no faces)."""
    ids = collection.values("id") if ids is None else ids
    worker = PairWorker(tuple((metric.name, metric.judge) for metric in metrics))
    with Progress(len(ids), label, progress) as bar:
        for results in run_tasks(blocks(ids, pair_tasks(collection, field, faces_field)), worker,
                                 engine, batch_size=8):
            for metric in metrics:
                metric.write([(r.sample_id, r.records[metric.name]) for r in results])
            bar.update(len(results))


def pair_tasks(collection, field: str, faces_field: str | None) -> Callable[[list[str]], list[PairTask]]:
    """``read(ids of a block)``: the block's pair tasks, read with one ``values()`` call."""
    media = media_field(field)

    def read(block_ids: list[str]) -> list[PairTask]:
        view = collection._dataset.select(block_ids, ordered=True)
        paths, images, faces = view.values(["filepath", media, faces_field or "filepath"])
        return [PairTask(i, p, v, field == ORIGINAL, face_refs(f) if faces_field else ())
                for i, p, v, f in zip(block_ids, paths, images, faces)]

    return read


def face_refs(faces) -> tuple[FaceRef, ...]:
    """A ``fo.Detections`` (or None) as the core's plain face records."""
    return tuple(FaceRef(d.id, tuple(d.bounding_box),
                         d.get_field("landmarks") if d.has_field("landmarks") else None)
                 for d in (faces.detections if faces else []))
