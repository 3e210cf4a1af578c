"""The Ray engine: each block of tasks streams through a Ray Dataset; ``map_batches`` runs the
stage's core on an actor pool, each actor loading the models once per block (the pool ends with
its block: a model load per 10,000 images, while the driver holds one block's tasks at a time).

Tasks and results travel pickled (one binary column), so the records stay the plain Python
objects the local engine passes. Workers read sources and write outputs on storage every node
sees at the same paths, and return records; only the driver opens the database. An actor that
dies is restarted by Ray and its batch retried: outputs are written atomically, so a retried
batch rewrites the same files whole and its results reach the driver once.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ldfa.plugin.engines.config import RAY_ADDRESS_ENV, EngineConfig
from ldfa.plugin.errors import ConfigError, LdfaError


def run_on_ray(tasks: Iterable[list], worker: Callable[[list], Iterable], engine: EngineConfig,
               batch_size: int, uses_gpu: bool) -> Iterator[list]:
    """``run_tasks`` on Ray: connected to ``engine.ray_address`` (else ``$LDFA_RAY_ADDRESS``,
    else a Ray started here), with ``engine.workers`` actors of ``gpus_per_worker`` GPUs."""
    import ray
    import ray.data

    connect(engine.ray_address)
    gpus, workers = _resources(engine, uses_gpu)
    for block in tasks:
        if not block:
            continue
        dataset = ray.data.from_items([{"task": pickle.dumps(t)} for t in block])
        dataset = dataset.map_batches(
            _Actor, fn_constructor_kwargs={"worker": worker}, batch_size=batch_size, num_cpus=1,
            num_gpus=gpus, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(workers, len(block))))
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            results = [pickle.loads(blob) for blob in batch["result"]]
            for result in results:
                if isinstance(result, LdfaError):  # a missing model, a bad option: one line,
                    raise result  # as with the local engine, not Ray's traceback
            yield results


def connect(address: str | None) -> None:
    """Join the cluster at ``address`` (else ``$LDFA_RAY_ADDRESS``; else start Ray here),
    unless this process is connected already; Ray's own logs stay off the user's terminal."""
    import ray
    import ray.data

    if not ray.is_initialized():
        address = address or os.environ.get(RAY_ADDRESS_ENV)
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except (ConnectionError, ValueError) as e:
            raise ConfigError(f"cannot join the Ray cluster at {address}: {e}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ldfa reports progress itself ...
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # ... say no more
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _resources(engine: EngineConfig, uses_gpu: bool) -> tuple[float, int]:
    """(GPUs per worker, workers): as asked, else one GPU per worker for a core that gains from
    one where the cluster has GPUs, and one worker per GPU, or per CPU without GPUs."""
    import ray

    available = ray.cluster_resources()
    cluster_gpus, cluster_cpus = available.get("GPU", 0), available.get("CPU", 1)
    gpus = engine.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if uses_gpu and cluster_gpus >= 1 else 0.0
    if gpus > cluster_gpus:
        raise ConfigError(f"gpus_per_worker {gpus} but the Ray cluster has {cluster_gpus:g} GPUs")
    workers = engine.workers or max(1, int(cluster_gpus // gpus) if gpus else int(cluster_cpus))
    return gpus, workers


class _Actor:
    """One Ray worker: holds the stage's worker (its models load on first use) for every batch."""

    def __init__(self, worker: Callable[[list], Iterable]):
        self.worker = worker

    def __call__(self, batch: dict) -> dict:
        try:
            results = list(self.worker([pickle.loads(blob) for blob in batch["task"]]))
        except LdfaError as e:  # travels back as a result; Ray would wrap it beyond reading
            results = [e]
        out = np.empty(len(results), dtype=object)
        out[:] = [pickle.dumps(r) for r in results]
        return {"result": out}
