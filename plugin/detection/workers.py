"""What an engine runs to detect: the finder of each kind of region, and the worker around it.

Faces and licence plates go through the same detection core (``core.detect_images``, and
``video.detect_video`` for a clip); only the finder differs. A worker holds config fields by
name and builds its config (checked, the device chosen) in the process that runs it, so the
same worker runs here or on Ray's workers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldfa.plugin.detection.core import DetectResult, DetectTask, Finder, detect_images, find_faces
from ldfa.plugin.detection.plate_core import find_plates
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.plates import PlateDetectorConfig


def finder(kind: str, params: dict) -> Finder:
    """The finder of faces (``kind`` face) or of licence plates (``plate``); a plate model
    loads on first use, one image a call."""
    if kind == "plate":
        plates = PlateDetectorConfig.build(**params)
        return Finder(lambda images, labels, candidates: find_plates(images, labels, plates), 1)
    config = DetectorConfig.build(**params)
    return Finder(lambda images, people, candidates: find_faces(images, people, config, candidates),
                  config.batch_size)


@dataclass(frozen=True)
class DetectWorker:
    """The detection core as a worker over images; ``kind`` face or plate."""

    params: dict
    kind: str = "face"

    def __call__(self, tasks: list[DetectTask]) -> list[DetectResult]:
        return detect_images(tasks, finder(self.kind, self.params))
