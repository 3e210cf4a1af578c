"""Detection utility: does a face detector still find the faces in the anonymized images?

We run a detector on the images of a version (an anonymized field, or the originals: the
reference row) and score its boxes against ``gt_field`` (default: the faces detected on the
originals) twice:
pycocotools' COCOeval for the LDFA paper's columns (mAP@[.5:.95], AP50, and mAP for small
(< 32² px), medium and large (> 96² px) faces, COCO's own area ranges), and FiftyOne's
``evaluate_detections`` so true/false positives and misses are browsable in the App. The run
``ldfa_detection_<version>`` records the prediction field and eval key it chose, where the
audit's views look them up. The detector runs on each image on the run's engine (the judge in
``detection_core.py``); both evaluations run here, on the driver.
"""

from __future__ import annotations

import contextlib
import io

import fiftyone as fo

from ldfa.plugin import failures
from ldfa.plugin.deprecation import renamed
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.geometry.boxes import to_pixels
from ldfa.plugin.metrics.detection_core import Detected, DetectionJudge
from ldfa.plugin.metrics.judging import judge_pairs
from ldfa.plugin.models.detector.config import DEFAULT_BACKEND, DetectorConfig
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import declare_fields, faces_field_of, record_run, versions
from ldfa.plugin.schema import (
    DETECTION_EVAL,
    FACE_LABEL,
    ORIGINAL,
    detection_reason,
    eval_key,
    media_field,
    predictions,
    run_key,
)

COCO_COLUMNS = ("mAP", "AP50", "AP75", "mAP_s", "mAP_m", "mAP_l")  # COCOeval.stats[0..5]


@renamed(anon_field="field")
def evaluate_face_detection(
    collection,
    field: str = ORIGINAL,
    gt_field: str | None = None,
    pred_field: str | None = None,
    detector: str = DEFAULT_BACKEND,
    confidence: float = 0.05,
    progress: ProgressArg = True,
    engine: str | dict | EngineConfig = "local",
) -> dict:
    """Detect faces on version ``field``'s images and score them against ``gt_field``.

    Args:
        collection: dataset or view
        field: an anonymized path field, or ``"original"`` for the reference row
        gt_field: ``fo.Detections`` ground truth (default: the faces the anonymization of
            ``field`` replaced, found on the originals)
        pred_field: where the detections go (default ``<field>_det``)
        detector: ``centerface``, ``retinaface`` or ``mtcnn``
        confidence: a low threshold, so AP integrates the whole precision/recall curve (the
            detector runs full frame only: AP needs one score scale, not a second look's)
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        engine: where the detector runs: ``local`` (this process), ``ray``, or an
            :class:`EngineConfig` (or a dict of its fields); the scores are computed here
    Returns: the COCO columns, face count, ``faces_left_out`` (faces of images without a
    readable version: each says why in ``<field>_detection_reason``) and the FiftyOne eval key
    """
    metric = DetectionMetric(collection, field, gt_field, pred_field, detector, confidence)
    judge_pairs(collection, field, None, [metric], EngineConfig.of(engine), progress,
                f"Detecting on {field}")
    return metric.finish()


class DetectionMetric:
    """The detection utility of version ``field`` in a pass (``judging.py``): each image's
    detections (or why it has none) written per batch; COCO's and FiftyOne's evaluations at
    the end, on the driver."""

    name = DETECTION_EVAL

    def __init__(self, collection, field: str, gt_field: str | None = None, pred_field: str | None = None,
                 detector: str = DEFAULT_BACKEND, confidence: float = 0.05):
        self.gt_field = gt_field or faces_field_of(collection, field)
        if not collection.has_field(self.gt_field):
            raise ConfigError(f"no ground-truth field '{self.gt_field}'")
        if not collection.has_field(media_field(field)):
            raise ConfigError(f"no field '{field}'")
        self.collection, self.field, self.detector, self.confidence = collection, field, detector, confidence
        self.pred_field = pred_field or predictions(field)
        self.judge = DetectionJudge(DetectorConfig(detector, confidence=confidence, zoom=1.0))  # one score scale for AP
        if not collection.has_field(self.pred_field):
            collection._dataset.add_sample_field(self.pred_field, fo.EmbeddedDocumentField,
                                                 embedded_doc_type=fo.Detections)
        declare_fields(collection._dataset, {f"{self.gt_field}.detections.{detection_reason(field)}": fo.StringField})
        self.sizes: dict[str, tuple[int, int]] = {}
        self.left_out = 0

    def write(self, records: list[tuple[str, Detected]]) -> None:
        found = dict(records)
        batch = self.collection._dataset.select(list(found))
        # a missing image is left out of the rates: it is no detector's miss
        batch.set_values(self.pred_field, {i: None if d.size is None else fo.Detections(detections=[
            fo.Detection(label=FACE_LABEL, confidence=score, bounding_box=list(box))
            for box, score in zip(d.boxes, d.scores)]) for i, d in found.items()}, key_field="id")
        ids, gt_ids = batch.values(["id", f"{self.gt_field}.detections.id"])
        reasons = {face: found[i].reason for i, faces in zip(ids, gt_ids) for face in faces or []}
        batch.set_label_values(f"{self.gt_field}.detections.{detection_reason(self.field)}", reasons)
        self.left_out += sum(r is not None for r in reasons.values())
        self.sizes.update((i, d.size) for i, d in found.items() if d.size is not None)
        failures.record(self.collection, self.pred_field, {i: d.reason for i, d in found.items()})

    def finish(self) -> dict:
        """COCO's scores, FiftyOne's evaluation (browsable in the App) and the run record."""
        scores = {**coco_scores(self.collection, self.gt_field, self.pred_field, self.sizes),
                  "faces_left_out": self.left_out}
        key = eval_key(self.pred_field)
        self.collection.select(list(self.sizes)).evaluate_detections(
            self.pred_field, gt_field=self.gt_field, eval_key=key, iou=0.5, progress=False)
        scores["eval_key"] = key
        record_run(self.collection, run_key(DETECTION_EVAL, self.field),
                   {"method": "ldfa.evaluate_face_detection", "field": self.field,
                    "gt_field": self.gt_field, "pred_field": self.pred_field, "eval_key": key,
                    "detector": self.detector, "confidence": self.confidence,
                    "versions": versions("pycocotools", "onnxruntime")},
                   scores)
        return scores


def coco_scores(collection, gt_field: str, pred_field: str, sizes: dict) -> dict:
    """COCOeval bbox scores of ``pred_field`` against ``gt_field`` (areas in image pixels)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, gts, dts = [], [], []
    ids, gt_labels, dt_labels = collection.values(["id", gt_field, pred_field])
    for index, (sample_id, gt, dt) in enumerate(zip(ids, gt_labels, dt_labels)):
        if sample_id not in sizes:
            continue
        w, h = sizes[sample_id]
        images.append({"id": index, "width": w, "height": h})
        for det in (gt.detections if gt else []):
            box = to_pixels(det.bounding_box, w, h)
            gts.append({"id": len(gts) + 1, "image_id": index, "category_id": 1, "bbox": box,
                        "area": box[2] * box[3], "iscrowd": 0})
        for det in (dt.detections if dt else []):
            dts.append({"image_id": index, "category_id": 1, "bbox": to_pixels(det.bounding_box, w, h),
                        "score": det.confidence if det.confidence is not None else 1.0})
    scores = {"images": len(images), "faces": len(gts), "detections": len(dts)}
    if not gts:
        return {**scores, **{c: None for c in COCO_COLUMNS}}
    coco_gt = COCO()
    coco_gt.dataset = {"images": images, "annotations": gts, "categories": [{"id": 1, "name": "face"}]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dts) if dts else COCO()
        if not dts:
            return {**scores, **{c: 0.0 for c in COCO_COLUMNS}}
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # COCOeval reports -1 where a size range holds no face: undefined, not zero
    return {**scores, **{c: (None if v < 0 else float(v)) for c, v in zip(COCO_COLUMNS, ev.stats)}}
