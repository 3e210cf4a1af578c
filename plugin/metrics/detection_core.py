"""The detection judge: one read pair in, the faces a detector finds on its version out (or why
there is no image to look at), no database (``evaluation.py`` scores them on the driver)."""

from __future__ import annotations

from dataclasses import dataclass

from ldfa.plugin.errors import ImageError
from ldfa.plugin.geometry.boxes import from_corners
from ldfa.plugin.metrics.pair_core import PairTask
from ldfa.plugin.metrics.pairs import Pair
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.detector.passes import detect


@dataclass(frozen=True)
class Detected:
    """What the detector found on one version's image: relative [x, y, w, h] boxes and their
    scores in the image of ``size`` (width, height); no size and a reason without an image."""

    size: tuple[int, int] | None
    boxes: tuple[tuple[float, float, float, float], ...]
    scores: tuple[float, ...]
    reason: str | None = None


@dataclass(frozen=True)
class DetectionJudge:
    """The detector of ``config`` (loaded once per process) on the version's image."""

    config: DetectorConfig

    def __call__(self, task: PairTask, pair: Pair) -> Detected:
        try:
            pixels = pair.version()
        except ImageError as e:
            return Detected(None, (), (), pair.version_missing(e))
        h, w = pixels.shape[:2]
        faces = detect([pixels], self.config)[0]
        return Detected((w, h), tuple(tuple(from_corners(f.box, w, h)) for f in faces),
                        tuple(float(f.score) for f in faces))
