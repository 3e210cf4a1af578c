"""``detect_faces``: find faces in every image of a FiftyOne collection and store them as labels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import fiftyone as fo
import numpy as np

from ldfa.plugin import failures
from ldfa.plugin.detectors import DEFAULT_BACKEND, DetectorConfig, Face, detect
from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.images import read_rgb
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import record_run, run_key, versions


@dataclass
class DetectionSummary:
    """What a detection run did; ``per_image`` lists every image with its face count or error."""

    label_field: str
    detector: str
    images: int = 0
    faces: int = 0
    failed: int = 0
    per_image: list[dict] = field(default_factory=list)

    @property
    def failures(self) -> list[dict]:
        return [p for p in self.per_image if p["error"] is not None]

    def to_dict(self) -> dict:
        return {**asdict(self), "failures": self.failures}

    def __str__(self) -> str:
        lines = [f"{self.images} images, {self.faces} faces, {self.failed} failed "
                 f"(field '{self.label_field}', detector {self.detector})"]
        lines += [f"  failed: {f['filepath']}: {f['error']}" for f in self.failures]
        return "\n".join(lines)


def detect_faces(
    collection: fo.core.collections.SampleCollection,
    label_field: str = "faces",
    detector: str = DEFAULT_BACKEND,
    confidence: float = 0.5,
    min_face_px: int = 8,
    max_side: int = 2048,
    batch_size: int | None = None,
    device: str | None = None,
    progress: ProgressArg = True,
) -> DetectionSummary:
    """Detect faces in every sample of ``collection`` and write them to ``label_field``.

    Each face becomes an ``fo.Detection`` labelled ``face`` with its confidence, a relative box
    in the orientation the App shows, and ``landmarks`` (5 relative points) when the detector
    gives them. A rerun replaces ``label_field`` on these samples only. Unreadable images do not
    stop the run: they get ``<label_field>_error`` and the tag ``<label_field>_failed``.

    Args:
        collection: a dataset or view of images
        label_field: the ``fo.Detections`` field to write
        detector: ``centerface``, ``retinaface`` or ``mtcnn``
        confidence: minimum detector score of a face
        min_face_px: faces whose shorter side is smaller (full-resolution pixels) are dropped
        max_side: longer images are downscaled to this side for detection; boxes are mapped back
        batch_size: images per detector call (None: 8 on CUDA, 1 on CPU, the fastest there)
        device: ``cuda``, ``cpu`` or None for CUDA when present
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
    """
    config = DetectorConfig(detector, confidence, min_face_px, max_side, batch_size, device).validate()
    _ensure_detections_field(collection, label_field)
    summary = DetectionSummary(label_field, detector)
    ids, paths = collection.values(["id", "filepath"])
    with Progress(len(ids), "Detecting faces", progress) as bar:
        step = config.batch_size
        for start in range(0, len(ids), step):
            chunk = list(zip(ids[start : start + step], paths[start : start + step]))
            labels, reasons = _detect_chunk(chunk, config, summary)
            collection.set_values(label_field, labels, key_field="id")
            failures.record(collection, label_field, reasons)
            bar.update(len(chunk))
    record_run(
        collection,
        run_key("detect", label_field),
        {"method": "ldfa.detect_faces", "label_field": label_field, **asdict(config),
         "versions": versions("facenet-pytorch", "onnxruntime", "torch")},
        {"images": summary.images, "faces": summary.faces, "failed": summary.failed,
         "failures": summary.failures},
    )
    return summary


def _ensure_detections_field(collection, label_field: str) -> None:
    """Declare ``label_field`` up front so a first batch of failures still has a typed field."""
    if not collection.has_field(label_field):
        collection._dataset.add_sample_field(
            label_field, fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections
        )
    elif collection.get_field(label_field).document_type is not fo.Detections:
        raise ConfigError(
            f"field '{label_field}' exists and does not hold fo.Detections; choose another label_field"
        )


def _detect_chunk(chunk, config, summary):
    """Detect one batch; returns (labels by id, failure reasons by id) and updates ``summary``."""
    images, readable = [], []
    labels: dict[str, fo.Detections | None] = {}
    reasons: dict[str, str | None] = {}
    for sample_id, path in chunk:
        try:
            images.append(read_rgb(path)[0])
            readable.append((sample_id, path))
        except ImageError as e:
            labels[sample_id], reasons[sample_id] = None, str(e)
            summary.per_image.append({"filepath": path, "faces": 0, "error": str(e)})
    for (sample_id, path), img, faces in zip(readable, images, detect(images, config)):
        height, width = img.shape[:2]
        labels[sample_id] = fo.Detections(detections=[to_detection(f, width, height) for f in faces])
        reasons[sample_id] = None
        summary.per_image.append({"filepath": path, "faces": len(faces), "error": None})
        summary.faces += len(faces)
    summary.images += len(chunk)
    summary.failed += len(chunk) - len(readable)
    return labels, reasons


def to_detection(face: Face, width: int, height: int) -> fo.Detection:
    """A FiftyOne face detection with a relative [x, y, w, h] box and relative landmarks."""
    x1, y1, x2, y2 = (float(v) for v in face.box)
    det = fo.Detection(
        label="face",
        bounding_box=[x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height],
        confidence=float(face.score),
    )
    if face.landmarks is not None:
        det["landmarks"] = (np.asarray(face.landmarks) / [width, height]).round(6).tolist()
    return det
