"""The anonymization core for a video: every frame's faces replaced by the image core, streamed.

A video is one task: its faces per frame (with their tracks) in, one new video file out. The
frames stream through ``ldfa.plugin.io.video.rewrite_video`` a batch at a time, so memory does
not grow with the clip; each batch is planned and rendered exactly as a batch of still images
(``faces.plan_faces``, ``faces.render``), so a frame gets the same pixels a still image with
those faces would. A face's seed is keyed by its track (``FaceTask.track``): with LDFA one
person is one new person in every frame. Audio, subtitles, timing, size and rotation are kept
by ``rewrite_video``; a frame the detection never saw is an error, never a frame left as it was.

With ``video_keyframes`` above 1 a diffusing run diffuses a track's face only every that many
frames and carries it to the frames between (``carry.KeyframePainter``): the diffusion cost of
a clip drops about as many times, and a face that cannot be carried is diffused itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ldfa.plugin.anonymization.carry import KeyframePainter
from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import (
    AnonymizeWorker,
    FaceTask,
    ImagePlan,
    ImageResult,
    ImageTask,
    load_painter,
    plan_faces,
    render,
)
from ldfa.plugin.errors import ImageError, OutputError
from ldfa.plugin.freshness import faces_digest
from ldfa.plugin.io.device import use_torch_threads
from ldfa.plugin.io.video import rewrite_video

FRAMES_PER_BATCH = 8  # frames rendered together: their faces share rounds of diffusion batches


@dataclass(frozen=True)
class VideoTask:
    """What anonymizing one video needs: its faces per frame, in frame order (None when
    detection never ran on it)."""

    sample_id: str
    filepath: str
    target: str
    frames: tuple[tuple[FaceTask, ...], ...] | None

    @property
    def faces_digest(self) -> str | None:
        """What the written video is made from (``ldfa.plugin.freshness``), every frame's faces."""
        if self.frames is None:
            return None
        return faces_digest((f.id, f.box, f.attempt) for faces in self.frames for f in faces)


def anonymize_video(task: VideoTask, config: AnonymizationConfig, inpainter) -> ImageResult:
    """Write ``task``'s video with every face of every frame replaced; a failure is a result."""
    facts: dict[str, dict] = {}
    keyframes = KeyframePainter(inpainter, config.video_keyframes) \
        if inpainter is not None and config.video_keyframes > 1 else None

    def edit(start: int, frames: list) -> list:
        if start + len(frames) > len(task.frames):
            raise ImageError(f"the video has more frames than its detection saw ({len(task.frames)}): "
                             "detect faces again (`ldfa detect`)")
        items = []
        for pixels, faces in zip(frames, task.frames[start:]):
            image = ImageTask(task.sample_id, task.filepath, task.target, faces)
            items.append(ImagePlan(image, pixels, task.filepath, 1, plan_faces(image, pixels, config)))
        painter = keyframes.batch(start, _marked_faces(start, items, config)) if keyframes else inpainter
        rendered = render(items, config, painter)
        for item in items:
            facts.update((f.face.id, f.facts(config.seed, task.sample_id)) for f in item.faces)
        return [pixels for pixels, _ in rendered]

    try:
        if task.frames is None:
            raise ImageError("no face detection for this video (its detection failed or never ran)")
        Path(task.target).parent.mkdir(parents=True, exist_ok=True)
        written = rewrite_video(task.filepath, task.target, edit, FRAMES_PER_BATCH,
                                config.video_codec, config.video_quality)
        if written.frames != len(task.frames):
            raise ImageError(f"wrote {written.frames} frames, the detection saw {len(task.frames)}")
    except (ImageError, OutputError, OSError) as e:
        return ImageResult(task.sample_id, task.filepath, None, str(e))
    return ImageResult(task.sample_id, task.filepath, task.target, facts=facts,
                       faces_digest=task.faces_digest)


def _marked_faces(start: int, items: list[ImagePlan], config: AnonymizationConfig) -> dict:
    """Each face of a batch of frames as ``KeyframePainter.batch`` reads it: its frame and its
    landmarks in pixels (None for a face without landmarks or without a track: never carried)."""
    faces = {}
    for frame, item in enumerate(items, start):
        height, width = item.pixels.shape[:2]
        for plan in item.faces:
            face = plan.face
            marks = None if face.landmarks is None or face.track is None \
                else np.asarray(face.landmarks, dtype=np.float64) * [width, height]
            faces[(id(item.pixels), plan.paste, plan.seed(config.seed, item.task.sample_id))] = (frame, marks)
    return faces


class VideoAnonymizeWorker(AnonymizeWorker):
    """``anonymize_video`` as a worker: one result a video, handed over as its file is complete."""

    def __call__(self, tasks: list[VideoTask]) -> Iterator[ImageResult]:
        use_torch_threads(self.threads)
        painter = load_painter(self.config)
        return (anonymize_video(task, self.config, painter) for task in tasks)
