"""``run_tasks``: a stage's per-image core over the records a driver reads, on its engine.

The driver reads what the core needs from FiftyOne in blocks of ``BLOCK_IMAGES`` images (one
``values()`` call per field and block) and writes each batch of results back as it arrives;
the core never touches the database. ``local`` runs the core here, batch after batch; ``ray``
streams each block through a Ray Dataset whose actors load the models once each
(``ray_engine.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ldfa.plugin.engines.config import EngineConfig

BLOCK_IMAGES = 10_000  # images a driver reads from FiftyOne at a time: memory stays flat


def blocks(ids: list[str], read: Callable[[list[str]], list]) -> Iterator[list]:
    """The tasks of ``ids``, read ``BLOCK_IMAGES`` at a time by ``read(ids of a block)``."""
    for start in range(0, len(ids), BLOCK_IMAGES):
        yield read(ids[start : start + BLOCK_IMAGES])


def run_tasks(tasks: Iterable[list], worker: Callable[[list], Iterable], engine: EngineConfig,
              batch_size: int, uses_gpu: bool = False) -> Iterator[list]:
    """Lists of results of ``worker`` (a picklable callable: a batch of tasks in, their results
    out, models loaded once per process) over batches of at most ``batch_size`` tasks of each
    block in ``tasks``, yielded as they are done. A worker that returns an iterator hands each
    result over as soon as it is done (one-item lists here; per batch on Ray). ``uses_gpu``:
    the core gains from a GPU (Ray then gives each worker one where the cluster has them)."""
    if engine.engine == "ray":
        from ldfa.plugin.engines.ray_engine import run_on_ray

        yield from run_on_ray(tasks, worker, engine, batch_size, uses_gpu)
        return
    for block in tasks:
        for start in range(0, len(block), batch_size):
            results = worker(block[start : start + batch_size])
            if isinstance(results, list):
                yield results
            else:
                yield from ([result] for result in results)
