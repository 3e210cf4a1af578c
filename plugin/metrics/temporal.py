"""The metrics over time of an anonymized version of videos and frame sequences: every face
track's leaks, flicker and identity consistency (``temporal_core`` says what each figure is and
how a leak is told).

A clip is a video sample (its faces in ``frames.<faces_field>``, the anonymized video's path in
``field``) or the image samples sharing a ``sequence``, in ``sequence_frame`` order. Each face's
``index`` is its track id; a face without one (found without tracking) is a track of its own.
Written back: ``<field>_leaks`` (a video's leaked face frames; an image's leaked faces),
``<field>_flicker`` (the clip's mean change inside the face boxes, anonymized) and
``<field>_temporal_error`` (why a clip was not measured, or not whole). The run
``ldfa_temporal_<field>`` holds the totals (``measure_temporal``'s return).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count

import fiftyone as fo
import numpy as np

from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.freshness import faces_path
from ldfa.plugin.geometry.boxes import to_corners
from ldfa.plugin.io.images import display_size, read_rgb
from ldfa.plugin.io.video import probe, read_frames
from ldfa.plugin.metrics.temporal_core import (
    DETAIL_SIGMA,
    LEAK_DETAIL_KEPT,
    MIN_DETAIL,
    SAMPLES_PER_TRACK,
    ClipMeasure,
    flicker_of,
    measure_clip,
)
from ldfa.plugin.models.embedders import load_embedder
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import declare_fields, record_run, versions
from ldfa.plugin.schema import (
    FACES,
    SEQUENCE,
    SEQUENCE_FRAME,
    TEMPORAL,
    flicker_field,
    leaks_field,
    run_key,
    temporal_error_field,
)


@dataclass
class _Clip:
    """One clip to measure: its name in the results, its samples in frame order (one for a video),
    the frame numbers the App shows (None: a video's, from 1) and ``read`` (original frames,
    anonymized frames, faces per frame), which raises ``ImageError`` for what cannot be read."""

    name: str
    ids: list[str]
    numbers: list[int] | None
    read: Callable[[], tuple[Iterator[np.ndarray], Iterator[np.ndarray], list]]

    def number(self, index: int) -> int:
        return index + 1 if self.numbers is None else self.numbers[index]


def measure_temporal(collection, field: str, faces_field: str = FACES, embedder: str | None = "facenet",
                     progress: ProgressArg = True) -> dict:
    """Measure every face track of version ``field`` over time, store each sample's figures and
    record the run.

    Args:
        collection: a video dataset or view, or images with a ``sequence`` field (images in no
            sequence are left out)
        field: the anonymized version's path field
        faces_field: the faces (``frames.<faces_field>`` in a video), each with its track ``index``
        embedder: the identity embedder of the consistency (``facenet`` or ``dlib``); None: none
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
    Returns: the totals (also the run's results): clips, frames, tracks, failed, leaks,
        flicker, consistency
    """
    video = collection.media_type == "video"
    faces = faces_path(collection, faces_field)
    if not collection.has_field(field) or not collection.has_field(faces):
        raise ConfigError(f"'{faces}' and '{field}' must both be fields of the collection")
    if not video and not collection.has_field(SEQUENCE):
        raise ConfigError("temporal metrics measure videos or frame sequences: these images have no "
                          f"'{SEQUENCE}' field (import a folder of numbered frames or a video)")
    model = load_embedder(embedder) if embedder else None
    clips = _videos(collection, field, faces_field) if video else _sequences(collection, field, faces_field)
    measured = []
    with Progress(len(clips), f"Temporal metrics ({field})", progress) as bar:
        for clip in clips:
            measured.append((clip, *_measured(clip, model)))
            bar.update()
    _write(collection, field, measured)
    totals = _totals(measured, model)
    record_run(collection, run_key(TEMPORAL, field),
               {"method": "ldfa.measure_temporal", "field": field, "faces_field": faces_field,
                "embedder": embedder, "embedder_weights": getattr(model, "provenance", None),
                "samples_per_track": SAMPLES_PER_TRACK,
                "leak_rule": {"detail_sigma_px": DETAIL_SIGMA, "detail_kept_at_least": LEAK_DETAIL_KEPT,
                              "min_detail_rms": MIN_DETAIL},
                "versions": versions()},
               totals)
    return totals


def _measured(clip: _Clip, model) -> tuple[ClipMeasure | None, str | None]:
    """The clip's measure and why it is not whole (None: it is), or None and why there is none."""
    try:
        measure = measure_clip(*clip.read(), embedder=model)
    except ImageError as e:
        return None, str(e)
    return measure, measure.failure


def _videos(collection, field: str, faces_field: str) -> list[_Clip]:
    rows = collection.values(["id", "filepath", field, "frames.frame_number", f"frames.{faces_field}"])

    def reader(path, anonymized, numbers, labels):
        def read():
            if not anonymized:
                raise ImageError(f"no anonymized video in '{field}'")
            info = probe(path)
            frames = [[] for _ in range(info.frames)]
            for number, faces in zip(numbers or (), labels or ()):
                if faces is not None and 1 <= number <= info.frames:
                    frames[number - 1] = faces.detections
            faces = _core_faces(frames, [(info.width, info.height)] * len(frames))
            return read_frames(path), read_frames(anonymized), faces
        return read

    return [_Clip(path, [sample_id], None, reader(path, anonymized, numbers, labels))
            for sample_id, path, anonymized, numbers, labels in zip(*rows)]


def _sequences(collection, field: str, faces_field: str) -> list[_Clip]:
    groups: dict[str, list] = {}
    for row in zip(*collection.values(["id", "filepath", field, SEQUENCE_FRAME, faces_field, SEQUENCE])):
        if row[-1] is not None:
            groups.setdefault(row[-1], []).append(row)

    def reader(rows):
        def read():
            sizes = [_frame_file(number, path, "original", display_size) for _, path, _, number, *_ in rows]
            faces = _core_faces([labels.detections if labels else [] for *_, labels, _ in rows], sizes)
            return ((_frame_file(number, path, "original", _rgb) for _, path, _, number, *_ in rows),
                    (_frame_file(number, path, f"'{field}'", _rgb) for _, _, path, number, *_ in rows), faces)
        return read

    clips = []
    for name, rows in sorted(groups.items()):
        rows.sort(key=lambda row: row[3])
        clips.append(_Clip(name, [row[0] for row in rows], [row[3] for row in rows], reader(rows)))
    return clips


def _frame_file(number: int, path: str | None, version: str, read: Callable):
    """``read(path)`` of a sequence's image, its errors saying which frame of which version."""
    if not path:
        raise ImageError(f"frame {number}: no {version} image")
    try:
        return read(path)
    except ImageError as e:
        raise ImageError(f"frame {number} ({version}): {e}") from None


def _rgb(path: str) -> np.ndarray:
    return read_rgb(path)[0]


def _core_faces(frames: list[list], sizes: list[tuple[int, int]]) -> list[list]:
    """Per frame, each face detection as ``measure_clip`` takes it: (pixel box, track id); a face
    without a track id gets one of its own, after every id the clip has."""
    known = [face.index for faces in frames for face in faces if face.index is not None]
    fresh = count(max(known, default=-1) + 1)
    return [[(tuple(to_corners(face.bounding_box, *size)), next(fresh) if face.index is None else face.index)
             for face in faces] for faces, size in zip(frames, sizes)]


def _write(collection, field: str, measured: list) -> None:
    """Each sample's leaks (a video's leaked face frames, an image's leaked faces), its clip's
    flicker and why its clip is not measured or not whole."""
    leaks, flicker, errors = {}, {}, {}
    for clip, measure, error in measured:
        for index, sample_id in enumerate(clip.ids):
            errors[sample_id] = error
            flicker[sample_id] = measure.flicker[0] if measure else None
            if measure is None:
                leaks[sample_id] = None
            elif clip.numbers is None:
                leaks[sample_id] = measure.leaks
            else:
                leaks[sample_id] = sum(t.leaks.count(index) for t in measure.tracks.values())
    declare_fields(collection._dataset, {leaks_field(field): fo.IntField, flicker_field(field): fo.FloatField,
                                         temporal_error_field(field): fo.StringField})
    for name, values in ((leaks_field(field), leaks), (flicker_field(field), flicker),
                         (temporal_error_field(field), errors)):
        collection.set_values(name, values, key_field="id")


def _totals(measured: list, model) -> dict:
    """The run's results, over the clips in the collection's order."""
    found = [(clip, measure) for clip, measure, _ in measured if measure is not None]
    tracks = [(clip, track_id, track) for clip, measure in found for track_id, track in measure.tracks.items()]
    flicker = flicker_of(t for *_, t in tracks)
    judged = [t for *_, t in tracks if t.same_anonymized is not None]
    return {
        "clips": len(measured),
        "frames": sum(measure.frames for _, measure in found),
        "tracks": len(tracks),
        "failed": [{"clip": clip.name, "reason": error} for clip, _, error in measured if error],
        "leaks": {"total": sum(len(t.leaks) for *_, t in tracks),
                  "tracks": [{"clip": clip.name, "track": track_id, "frames": [clip.number(i) for i in t.leaks]}
                             for clip, track_id, t in tracks if t.leaks]},
        "flicker": {"anonymized": flicker[0], "original": flicker[1],
                    "ratio": flicker[0] / flicker[1] if flicker[1] else None},
        "consistency": {"embedder": getattr(model, "name", None), "samples_per_track": SAMPLES_PER_TRACK,
                        "anonymized": _mean(t.same_anonymized for t in judged),
                        "to_original": _mean(t.to_original for *_, t in tracks),
                        "original": _mean(t.same_original for *_, t in tracks),
                        "judged": len(judged), "tracks": len(tracks)},
    }


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None
