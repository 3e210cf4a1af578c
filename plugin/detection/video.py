"""The detection core for videos and frame sequences: faces per frame, then tracked.

A face the detector misses in one frame of a clip would be in the clear for that frame, so
every clip's faces are followed over time (``tracks.track_faces``): each detection gets its
track's id, gaps inside a track are filled and each track is padded before and after, one box
per face in every frame. A video is one task whose frames stream through the detector a batch
at a time (memory grows with the faces found, not the frames); a frame sequence's images are
detected as images and tracked together once all of them are (``detect_faces``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ldfa.plugin.detection.core import Finder
from ldfa.plugin.detection.track_config import TrackConfig
from ldfa.plugin.detection.tracks import track_faces
from ldfa.plugin.detection.workers import finder
from ldfa.plugin.errors import ImageError
from ldfa.plugin.io.video import probe, read_frames
from ldfa.plugin.models.detector.backends import Face


@dataclass
class VideoDetectTask:
    sample_id: str
    filepath: str


@dataclass
class VideoDetectResult:
    """A video's faces per frame, each with its track id, in display pixels (``size``)."""

    sample_id: str
    filepath: str
    size: tuple[int, int] | None
    frames: list[list[tuple[Face, int]]] = field(default_factory=list)
    error: str | None = None


def detect_video(task: VideoDetectTask, found_by: Finder, tracking: TrackConfig) -> VideoDetectResult:
    """Every frame's faces (or plates) of one video, tracked; an unreadable or truncated video
    gets its reason."""
    try:
        info = probe(task.filepath)
        found, batch = [], []
        for frame in read_frames(task.filepath, info=info):
            batch.append(frame)
            if len(batch) == found_by.batch_size:
                found += found_by.find(batch, [()] * len(batch), True)
                batch = []
        if batch:
            found += found_by.find(batch, [()] * len(batch), True)
    except ImageError as e:
        return VideoDetectResult(task.sample_id, task.filepath, None, error=str(e))
    size = (info.width, info.height)
    return VideoDetectResult(task.sample_id, task.filepath, size,
                             track_faces(found, *size, float(info.rate), tracking))



@dataclass(frozen=True)
class VideoDetectWorker:
    """``detect_video`` as a worker (one video a task): config fields by name, built where it
    runs; ``kind`` face or plate."""

    params: dict
    tracking: dict
    kind: str = "face"

    def __call__(self, tasks: list[VideoDetectTask]) -> list[VideoDetectResult]:
        found_by, tracking = finder(self.kind, self.params), TrackConfig(**self.tracking)
        return [detect_video(task, found_by, tracking) for task in tasks]
