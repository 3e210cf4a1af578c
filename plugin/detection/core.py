"""The detection core: per-image tasks in, per-image faces out, never a database.

``detect_faces`` (``detect.py``) reads the tasks from FiftyOne and writes the results back; an
engine (``ldfa.plugin.engines``) runs ``DetectWorker`` here or on Ray workers, which import this
module without FiftyOne.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldfa.plugin.detection.people import faces_for_people, people_in
from ldfa.plugin.errors import ImageError
from ldfa.plugin.io.images import read_rgb
from ldfa.plugin.models.detector.backends import Face
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.detector.passes import detect


@dataclass
class DetectTask:
    """What detecting one image needs: its path and its people labels (one per people field)."""

    sample_id: str
    filepath: str
    people: tuple


@dataclass
class DetectResult:
    """One image's faces in its pixels (``size``: width, height), or why it has none."""

    sample_id: str
    filepath: str
    size: tuple[int, int] | None
    faces: list[Face]
    error: str | None = None


@dataclass(frozen=True)
class DetectWorker:
    """The detection core as a worker: config fields by name, checked (and the device chosen)
    in the process that runs it."""

    params: dict

    def __call__(self, tasks: list[DetectTask]) -> list[DetectResult]:
        return detect_images(tasks, DetectorConfig.build(**self.params))


def detect_images(tasks: list[DetectTask], config: DetectorConfig) -> list[DetectResult]:
    """Faces of every readable image of ``tasks`` (the full frame, the zoom pass, then a closer
    look at each person without a face); an unreadable image gets its reason."""
    images, readable, results = [], [], {}
    for task in tasks:
        try:
            images.append(read_rgb(task.filepath)[0])
            readable.append(task)
        except ImageError as e:
            results[task.sample_id] = DetectResult(task.sample_id, task.filepath, None, [], str(e))
    found = detect(images, config)
    persons = [[p for label in task.people for p in people_in(label, img.shape[1], img.shape[0])]
               for task, img in zip(readable, images)]
    if any(persons):
        found = [f + more for f, more in zip(found, faces_for_people(images, found, persons, config))]
    for task, img, faces in zip(readable, images, found):
        results[task.sample_id] = DetectResult(task.sample_id, task.filepath,
                                               (img.shape[1], img.shape[0]), faces)
    return [results[task.sample_id] for task in tasks]
