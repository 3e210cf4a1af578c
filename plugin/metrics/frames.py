"""The image metrics (identity, residual, attributes, detection) of a video version, on sampled frames.

``measure_version`` reads still images, one pair per sample. Rather than teach every metric about
frames, a video collection gets a companion image dataset ``<name>-frames``: every ``every``-th frame
of each video as an image sample (its original and its anonymized frame as PNG files in a cache
folder, its faces copied), with an anonymization run recorded on it, so the same metrics measure it
as they measure photos. A rerun refreshes it: PNGs newer than their video are kept, a frame already
there (keyed by video id and frame number) gets its faces updated, never a second sample.
"""

from __future__ import annotations

import os
from pathlib import Path

import fiftyone as fo
import numpy as np
from PIL import Image

from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.io.atomic import atomic_write
from ldfa.plugin.io.video import read_frames
from ldfa.plugin.metrics.measure import measure_version
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import faces_field_of, record_run, run_config
from ldfa.plugin.schema import ANONYMIZE, FACES, ORIGINAL, PLATES, run_key

FRAMES_SUFFIX = "-frames"
KEPT = ("index", "source", "confidence", "landmarks")  # a face's attributes the frame keeps


def frames_folder(dataset_name: str) -> Path:
    """Where the frames of ``dataset_name``'s videos are cached as PNG files."""
    return Path(fo.config.default_dataset_dir) / "ldfa" / f"{dataset_name}{FRAMES_SUFFIX}"


def measure_video_frames(collection, field: str, every: int = 5, faces_field: str | None = None,
                         progress: ProgressArg = True, **measure_version_kwargs) -> dict:
    """Build (or refresh) ``<dataset>-frames`` from every ``every``-th frame of the videos of
    ``collection`` and run ``measure_version`` on its version ``field``.

    Args:
        collection: a video dataset or view with ``frames.<faces_field>`` and ``field``
        field: the anonymized version (a sample field holding each video's anonymized file)
        every: the step between measured frames (1, 1 + every, ... in FiftyOne's 1-based numbers)
        faces_field: the video's faces (default: the ones the anonymization of ``field`` used)
        measure_version_kwargs: passed on (measures, detector, embedders, engine ...)
    Returns: measure_version's dict plus ``frames_dataset``, ``frames``, ``every`` and ``errors``
        (video id -> why its frames are missing or incomplete)
    """
    if collection.media_type != "video":
        raise ConfigError(f"'{collection.name}' holds no videos: measure its images with measure_version")
    if every < 1:
        raise ConfigError(f"every={every}: measure every n-th frame with n >= 1")
    faces_field = faces_field or faces_field_of(collection, field)
    if not collection.has_field(field) or not collection.has_frame_field(faces_field):
        raise ConfigError(f"'{field}' and 'frames.{faces_field}' must both be fields of '{collection.name}'")
    source = collection._dataset
    name = f"{source.name}{FRAMES_SUFFIX}"
    frames = fo.load_dataset(name) if fo.dataset_exists(name) else fo.Dataset(name, persistent=source.persistent)
    folder = frames_folder(source.name)
    config = run_config(collection, run_key(ANONYMIZE, field)) or {}
    plates_field = config.get("plates_field")  # the plates the run replaced go along, as ``plates``
    _declare(frames, field, plates_field)
    known = dict(zip(zip(*frames.values(["video_id", "frame_number"])), frames.values("id"))) if len(frames) else {}
    errors = {}
    labels = {FACES: faces_field} | ({PLATES: plates_field} if plates_field else {})
    videos = collection.exists(field).select_fields([field, *(f"frames.{f}" for f in labels.values())])
    with Progress(len(videos), f"Sampling frames of {field}", progress) as bar:
        for video in videos.iter_samples():
            try:
                _add_frames(frames, video, field, labels, every, folder, known)
            except ImageError as e:
                errors[video.id] = str(e)
            bar.update()
    record_run(frames, run_key(ANONYMIZE, field), {
        "method": config.get("method", "?"), "faces_field": FACES, "plates_field": PLATES if plates_field else None,
        "field": field, "output_dir": str(folder),
        "config": config, "source_dataset": source.name, "every": every})
    measured = measure_version(frames, field, faces_field=FACES, progress=progress, **measure_version_kwargs)
    return {**measured, "frames_dataset": name, "frames": len(frames), "every": every, "errors": errors}


def _declare(frames: fo.Dataset, field: str, plates_field: str | None) -> None:
    """The frame samples' fields, and ``field`` as a media field the App can switch to."""
    for path, kind in (("video_id", fo.StringField), ("frame_number", fo.IntField), (field, fo.StringField)):
        if not frames.has_field(path):
            frames.add_sample_field(path, kind)
    for labels in (FACES, PLATES) if plates_field else (FACES,):
        if not frames.has_field(labels):
            frames.add_sample_field(labels, fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
    media = list(frames.app_config.media_fields or ["filepath"])
    if field not in media:
        frames.app_config.media_fields = media + [field]
        frames.save()


def _add_frames(frames: fo.Dataset, video: fo.Sample, field: str, labels: dict[str, str], every: int, folder: Path,
                known: dict[tuple[str, int], str]) -> None:
    """Write one video's sampled frame pairs and add (or update) their samples, a frame at a time,
    with the frame's ``labels`` (frame samples' field -> the video's frame field)."""
    added = []
    pairs = zip(read_frames(video.filepath), read_frames(video[field]), strict=False)
    for n, (original, anonymized) in enumerate(pairs, start=1):
        if (n - 1) % every:
            continue
        name = Path(video.id) / f"{n:06d}.png"
        paths = {version: _png(pixels, folder / version / name, source)
                 for version, pixels, source in ((ORIGINAL, original, video.filepath),
                                                 (field, anonymized, video[field]))}
        copied = {mine: _copied(video.frames[n][theirs] if n in video.frames else None)
                  for mine, theirs in labels.items()}
        if (video.id, n) in known:
            sample = frames[known[(video.id, n)]]
            sample[field] = paths[field]
            for mine, detections in copied.items():
                sample[mine] = detections
            sample.save()
            continue
        height, width = original.shape[:2]
        added.append(fo.Sample(filepath=paths[ORIGINAL], metadata=fo.ImageMetadata(width=width, height=height),
                               video_id=video.id, frame_number=n, **{field: paths[field], **copied}))
    ids = frames.add_samples(added, progress=False) if added else []
    known.update({(s.video_id, s.frame_number): i for s, i in zip(added, ids)})


def _png(pixels: np.ndarray, target: Path, source: str) -> str:
    """``target`` (written unless a PNG newer than the video ``source`` is already there)."""
    if not (target.exists() and target.stat().st_mtime >= os.stat(source).st_mtime):
        try:
            with atomic_write(target) as f:
                Image.fromarray(pixels).save(f, format="PNG")
        except OSError as e:
            raise ImageError(f"could not write {target}: {e}") from None
    return str(target)


def _copied(faces: fo.Detections | None) -> fo.Detections:
    """A frame's faces (or plates) as new detections (boxes, scores, track ids, landmarks, how found)."""
    return fo.Detections(detections=[
        fo.Detection(label=d.label, bounding_box=list(d.bounding_box),
                     **{k: d[k] for k in KEPT if d.has_field(k) and d[k] is not None})
        for d in (faces.detections if faces else [])])
