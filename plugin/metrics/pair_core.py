"""The metrics core: one original/version pair in, every judge asked for run on it, plain
records out, no database.

A task names the original, the version's image and the faces (relative boxes and landmarks);
``PairWorker`` reads the pair once (``pairs.Pair``: each image decoded when a judge first needs
it) and hands it to each judge, a picklable callable ``judge(task, pair) -> record`` whose
models load once per process. Every engine runs the worker; the driver (``judging.py``) reads
the tasks from FiftyOne and gives each metric its records to write back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ldfa.plugin.metrics.pairs import Pair


@dataclass(frozen=True)
class FaceRef:
    """One face to judge: its label id, relative [x, y, w, h] box and relative landmarks."""

    id: str
    bounding_box: tuple[float, float, float, float]
    landmarks: tuple | None = None


@dataclass(frozen=True)
class PairTask:
    """An original, one version of it (None: missing) and the faces to compare."""

    sample_id: str
    filepath: str
    version: str | None
    same: bool  # the version is the original itself
    faces: tuple[FaceRef, ...]

    def pair(self) -> Pair:
        return Pair(self.filepath, self.version, self.same)


@dataclass
class Judged:
    """Each judge's record of one pair, by the judge's name."""

    sample_id: str
    records: dict


@dataclass(frozen=True)
class PairWorker:
    """The core as a worker: each task's pair read once, then judged by every judge."""

    judges: tuple[tuple[str, Callable], ...]  # (name, judge)

    def __call__(self, tasks: list[PairTask]) -> list[Judged]:
        out = []
        for task in tasks:
            pair = task.pair()
            out.append(Judged(task.sample_id, {name: judge(task, pair) for name, judge in self.judges}))
        return out
