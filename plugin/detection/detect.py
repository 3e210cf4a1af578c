"""``detect_faces``: find faces in every image of a FiftyOne collection and store them as labels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import fiftyone as fo

from ldfa.plugin import failures
from ldfa.plugin.detection.core import DetectResult, DetectTask, face_fields
from ldfa.plugin.detection.track_config import TrackConfig
from ldfa.plugin.detection.tracks import track_faces
from ldfa.plugin.detection.video import VideoDetectResult, VideoDetectTask, VideoDetectWorker
from ldfa.plugin.detection.workers import DetectWorker, finder
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.engines.run import blocks, run_tasks
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.models.detector.backends import Face
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import record_run, versions
from ldfa.plugin.schema import DETECT, FACE_LABEL, FACES, PLATE_LABEL, SEQUENCE, SEQUENCE_FRAME, run_key

WRITE_IMAGES = 32  # results written to FiftyOne together: a few round trips per 32 images
# Image sequences carry no frame rate; the tracker's settings are in frames, this only scales
# its motion model (MOT17: 14-30 frames/s, Cityscapes sequences: 17).
SEQUENCE_RATE = 25.0


@dataclass
class DetectionSummary:
    """What a detection run did; ``per_image`` lists every image with its face count or error."""

    label_field: str
    detector: str
    by_source: dict[str, int] = field(default_factory=dict)  # faces each way of finding added
    min_face_px: int = 0  # "small" means under this: the detector's own limit (0 for plates)
    small: int = 0  # faces below min_face_px: kept, marked `small`, anonymized like the rest
    noun: str = "faces"  # what was found: faces, licence plates
    per_image: list[dict] = field(default_factory=list)

    @property
    def images(self) -> int:
        return len(self.per_image)

    @property
    def faces(self) -> int:
        return sum(self.by_source.values())

    @property
    def failures(self) -> list[dict]:
        return [p for p in self.per_image if p["error"] is not None]

    @property
    def failed(self) -> int:
        return len(self.failures)

    def totals(self) -> dict:
        """The counts, without the line of every image (the run's record)."""
        return {"images": self.images, "faces": self.faces, "failed": self.failed,
                "by_source": self.by_source, "small": self.small, "min_face_px": self.min_face_px,
                "failures": self.failures}

    def to_dict(self) -> dict:
        return {"label_field": self.label_field, "detector": self.detector, **self.totals(),
                "per_image": self.per_image}

    def __str__(self) -> str:
        sources = ", ".join(f"{n} {s}" for s, n in self.by_source.items()) or "none"
        small = f"; {self.small} small: under {self.min_face_px} px" if self.min_face_px else ""
        lines = [f"{self.images} images, {self.faces} {self.noun} ({sources}{small}), "
                 f"{self.failed} failed (field '{self.label_field}', detector {self.detector})"]
        lines += [f"  failed: {f['filepath']}: {f['error']}" for f in self.failures]
        return "\n".join(lines)


def detect_faces(
    collection: fo.core.collections.SampleCollection,
    label_field: str = FACES,
    people_field: str | list[str] | None = None,
    progress: ProgressArg = True,
    engine: str | dict | EngineConfig = "local",
    tracking: dict | None = None,
    **params,
) -> DetectionSummary:
    """Detect faces in every sample of ``collection`` and write them to ``label_field``.

    Recall first: a missed face is a leak. Faces the full-frame pass scores ``confidence`` or
    more are kept; weaker candidates down to ``candidate_confidence`` get a second look at
    ``zoom`` x magnification, where faces scoring ``zoom_confidence`` or more are kept. With
    ``people_field``, every annotated person whose head region has no face yet gets a closer
    look, then a face box from its face keypoints (see ``ldfa.plugin.detection.people``). A box
    lying mostly inside another face's box is that face found twice: the two are merged into
    the better one, grown to cover both (``ldfa.plugin.detection.core.one_box_per_face``).

    Each face becomes an ``fo.Detection`` labelled ``face`` with its ``confidence`` (the score
    of the pass that found it; None for keypoint boxes), ``source`` (how it was found: the
    detector's name, ``zoom``, ``second_look`` or ``keypoints``),
    ``small`` (shorter side below ``min_face_px``: kept and anonymized all the same), a relative
    box in the orientation the App shows, and ``landmarks`` (5 relative points) when the
    detector gives them. A rerun replaces ``label_field`` on these samples only. Unreadable
    images do not stop the run: they get ``<label_field>_error`` and the tag
    ``<label_field>_failed``.

    Videos and frame sequences are tracked (``ldfa.plugin.detection.tracks``): in a video
    collection the faces go to ``frames.<label_field>``, and in images that share a ``sequence``
    (ordered by ``sequence_frame``) to ``label_field``; each face's ``index`` is its track id,
    and the boxes the tracker fills (gaps inside a track, ``pad_frames`` before and after it)
    have ``source="track"``, so the face is replaced in every frame of its track. A frame keeps
    one box per face there too: a box a track fills or grows onto a face another track holds is
    merged into the face found in the frame, grown to cover both, with that face's track id.

    Args:
        collection: a dataset or view of images
        label_field: the ``fo.Detections`` field to write
        people_field: field(s) with the dataset's people: ``fo.Polylines`` (Cityscapes gtFine
            polygons) or ``fo.Detections`` (CityPersons boxes, COCO persons with ``keypoints``)
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        engine: ``local`` (this process), ``ray``, or an :class:`EngineConfig` (or a dict of
            its fields: ``ray_address``, ``workers``, ``gpus_per_worker``)
        tracking: fields of :class:`TrackConfig` by name (videos and sequences)
        **params: any field of :class:`DetectorConfig` (``detector``, ``confidence``,
            ``candidate_confidence``, ``zoom``, ``zoom_confidence``, ``min_face_px``,
            ``max_side``, ``batch_size``, ``device``); its help says what each does
    """
    config = DetectorConfig.build(**params)
    video = collection.media_type == "video"
    people_fields = [] if video else _people_fields(collection, people_field)
    summary = DetectionSummary(label_field, config.detector, min_face_px=config.min_face_px)
    record = {"method": "ldfa.detect_faces", "label_field": label_field, **asdict(config),
              "people_fields": people_fields, "versions": versions("facenet-pytorch", "onnxruntime", "torch")}
    return detect_regions(collection, "face", label_field, people_fields, params, summary, record,
                          progress, engine, tracking)


def detect_regions(collection, kind: str, label_field: str, labels_fields: list[str], params: dict,
                   summary: DetectionSummary, record: dict, progress: ProgressArg = True,
                   engine: str | dict | EngineConfig = "local", tracking: dict | None = None) -> DetectionSummary:
    """Find one ``kind`` of region (face or plate) in every sample of ``collection`` on
    ``engine``, track it in videos and sequences, write it to ``label_field`` a batch at a time
    and record the run (``record``: what decided it); ``labels_fields``: the dataset's labels
    that point at more regions (people for faces, plate polygons for plates)."""
    track = TrackConfig.build(**(tracking or {}))
    engine = EngineConfig.of(engine)
    video = collection.media_type == "video"
    _ensure_detections_field(collection, label_field, video)
    ids = collection.values("id")
    sequences = dict(zip(ids, collection.values(SEQUENCE))) if collection.has_field(SEQUENCE) else {}

    def read(block_ids: list[str]) -> list:
        view = collection.select(block_ids, ordered=True)
        paths, people = view.values("filepath"), view.values(labels_fields) if labels_fields else []
        if video:
            return [VideoDetectTask(i, p) for i, p in zip(block_ids, paths)]
        return [DetectTask(i, p, tuple(labels), bool(sequences.get(i))) for i, p, labels in
                zip(block_ids, paths, zip(*people) if people else [()] * len(block_ids))]

    worker = VideoDetectWorker(params, asdict(track), kind) if video else DetectWorker(params, kind)
    batch = 1 if video else finder(kind, params).batch_size
    label = PLATE_LABEL if kind == "plate" else FACE_LABEL
    per_image, pending, held = {}, [], []
    with Progress(len(ids), f"Detecting {'licence plates' if kind == 'plate' else 'faces'}", progress) as bar:
        for results in run_tasks(blocks(ids, read), worker, engine, batch):
            held += [r for r in results if sequences.get(r.sample_id)]  # tracked once all are in
            pending += [r for r in results if not sequences.get(r.sample_id)]
            if len(pending) >= WRITE_IMAGES or video:
                per_image.update(_write(collection, label_field, pending, label, summary))
                pending = []
            bar.update(len(results))
        pending += _tracked_sequences(held, sequences, collection, track)
        per_image.update(_write(collection, label_field, pending, label, summary))
    summary.per_image = [per_image[i] for i in ids]  # in the collection's order, whatever the engine
    record_run(collection, run_key(DETECT, label_field),
               {**record, "engine": asdict(engine), "tracking": asdict(track)}, summary.totals())
    return summary


def _tracked_sequences(results: list[DetectResult], sequences: dict, collection,
                       track: TrackConfig) -> list[DetectResult]:
    """The results of images in frame sequences with their faces tracked, sequence by sequence
    in frame order; a frame that could not be read is left out of its sequence's tracks."""
    if not results:
        return []
    numbers = dict(zip(*collection.select([r.sample_id for r in results]).values(["id", SEQUENCE_FRAME])))
    by_sequence: dict[str, list[DetectResult]] = {}
    for r in sorted(results, key=lambda r: numbers[r.sample_id] or 0):
        by_sequence.setdefault(sequences[r.sample_id], []).append(r)
    for frames in by_sequence.values():
        readable = [r for r in frames if r.error is None]
        if not readable:
            continue
        width, height = max(r.size for r in readable)
        tracked = track_faces([r.faces for r in readable], width, height, SEQUENCE_RATE, track)
        for r, faces in zip(readable, tracked):
            r.faces = [face for face, _ in faces]
            r.tracks = [index for _, index in faces]
    return results


def _write(collection, label_field: str, results: list, label: str, summary: DetectionSummary) -> dict[str, dict]:
    """Store a batch of results as labels (failures recorded), count them in ``summary`` and
    return each image's (or video's) line of ``summary.per_image`` by sample id."""
    labels, reasons, lines = {}, {}, {}
    for r in results:
        reasons[r.sample_id] = r.error
        video = isinstance(r, VideoDetectResult)
        frames = r.frames if video else [list(zip(r.faces, r.tracks or [None] * len(r.faces)))]
        labels[r.sample_id] = None
        if r.error is None:
            detections = [fo.Detections(detections=[to_detection(f, *r.size, summary.min_face_px, index, label)
                                                    for f, index in faces]) for faces in frames]
            labels[r.sample_id] = detections if video else detections[0]
        faces = [f for faces in frames for f, _ in faces]
        lines[r.sample_id] = {"filepath": r.filepath, "faces": len(faces), "error": r.error}
        if video:
            lines[r.sample_id].update(frames=len(frames), tracks=len({i for fs in frames for _, i in fs}))
        for face in faces:
            summary.by_source[face.source] = summary.by_source.get(face.source, 0) + 1
            summary.small += face.size < summary.min_face_px
    if not results:
        return lines
    if collection.media_type == "video":
        _write_frames(collection, label_field, labels)
    else:
        collection.set_values(label_field, labels, key_field="id")
    failures.record(collection, label_field, reasons)
    return lines


def _write_frames(collection, label_field: str, labels: dict[str, list | None]) -> None:
    """Each video's faces per frame (``frames.<label_field>``), replacing what an earlier run
    wrote; a video that failed keeps no faces, so it is never taken for one without any."""
    for sample in collection._dataset.select(list(labels)).iter_samples(autosave=True):
        frames = labels[sample.id] or []
        for number in list(sample.frames.keys()):
            if number > len(frames):
                sample.frames[number][label_field] = None
        for number, detections in enumerate(frames, 1):
            sample.frames[number][label_field] = detections


def _people_fields(collection, people_field) -> list[str]:
    """The people fields asked for, checked: each must hold Detections or Polylines."""
    fields = [people_field] if isinstance(people_field, str) else list(people_field or [])
    for name in fields:
        kind = collection.get_field(name) if collection.has_field(name) else None
        if getattr(kind, "document_type", None) not in (fo.Detections, fo.Polylines):
            raise ConfigError(f"people field '{name}' must be a Detections or Polylines field "
                              "of the dataset (e.g. gt_fine, persons, ground_truth)")
    return fields


def _ensure_detections_field(collection, label_field: str, video: bool = False) -> None:
    """Declare ``label_field`` (a frame field in a video collection) up front so a first batch
    of failures still has a typed field."""
    path = f"frames.{label_field}" if video else label_field
    if not collection.has_field(path):
        add = collection._dataset.add_frame_field if video else collection._dataset.add_sample_field
        add(label_field, fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
    elif collection.get_field(path).document_type is not fo.Detections:
        raise ConfigError(
            f"field '{label_field}' exists and does not hold fo.Detections; choose another label_field"
        )


def to_detection(face: Face, width: int, height: int, min_face_px: int = 0,
                 index: int | None = None, label: str = FACE_LABEL) -> fo.Detection:
    """A FiftyOne face (or ``label``: licence plate) detection: what ``detect_image`` gives for
    the face (``face_fields``), with its track id as ``index`` in a video or sequence (FiftyOne
    draws tracks by it)."""
    return fo.Detection(label=label, index=index, **face_fields(face, width, height, min_face_px))
