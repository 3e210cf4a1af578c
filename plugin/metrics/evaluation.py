"""Detection utility: does a face detector still find the faces in the anonymized images?

We run a detector on the images of a version (an anonymized field, or the originals: the
reference row) and score its boxes against ``gt_field`` (default: the faces detected on the
originals) twice:
pycocotools' COCOeval for the LDFA paper's columns (mAP@[.5:.95], AP50, and mAP for small
(< 32² px), medium and large (> 96² px) faces, COCO's own area ranges), and FiftyOne's
``evaluate_detections`` so true/false positives and misses are browsable in the App. The run
``ldfa_detection_<version>`` records the prediction field and eval key it chose, where the
audit's views look them up.
"""

from __future__ import annotations

import contextlib
import io

import fiftyone as fo

from ldfa.plugin import failures
from ldfa.plugin.deprecation import renamed
from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.geometry.boxes import from_corners, to_pixels
from ldfa.plugin.metrics.pairs import no_version, read_version, unreadable_original
from ldfa.plugin.models.detector.config import DEFAULT_BACKEND, DetectorConfig
from ldfa.plugin.models.detector.passes import detect
from ldfa.plugin.progress import Progress, ProgressArg
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
    Returns: the COCO columns, face count, ``faces_left_out`` (faces of images without a
    readable version: each says why in ``<field>_detection_reason``) and the FiftyOne eval key
    """
    gt_field = gt_field or faces_field_of(collection, field)
    if not collection.has_field(gt_field):
        raise ConfigError(f"no ground-truth field '{gt_field}'")
    media = media_field(field)
    if not collection.has_field(media):
        raise ConfigError(f"no field '{field}'")
    pred_field = pred_field or predictions(field)
    config = DetectorConfig(detector, confidence=confidence, zoom=1.0)  # one score scale for AP
    if not collection.has_field(pred_field):
        collection._dataset.add_sample_field(pred_field, fo.EmbeddedDocumentField,
                                             embedded_doc_type=fo.Detections)
    why_field = detection_reason(field)
    declare_fields(collection._dataset, {f"{gt_field}.detections.{why_field}": fo.StringField})
    sizes, reasons, left_out = {}, {}, 0
    with Progress(len(collection), f"Detecting on {field}", progress) as bar:
        for sample in collection.iter_samples(autosave=True, progress=False):
            gt = sample[gt_field].detections if sample[gt_field] else []
            try:
                pixels, why = read_version(sample[media]), None
            except ImageError as e:
                pixels, why = None, unreadable_original(e) if field == ORIGINAL else no_version(e)
            for face in gt:
                face[why_field] = why
            reasons[sample.id] = why
            if pixels is None:  # left out of the rates: a missing image is no detector's miss
                sample[pred_field] = None
                left_out += len(gt)
                bar.update()
                continue
            h, w = pixels.shape[:2]
            sizes[sample.id] = (w, h)
            faces = detect([pixels], config)[0]
            sample[pred_field] = fo.Detections(detections=[
                fo.Detection(label=FACE_LABEL, confidence=float(f.score),
                             bounding_box=from_corners(f.box, w, h)) for f in faces])
            bar.update()
    failures.record(collection, pred_field, reasons)
    scores = {**coco_scores(collection, gt_field, pred_field, sizes), "faces_left_out": left_out}
    key = eval_key(pred_field)
    collection.select(list(sizes)).evaluate_detections(pred_field, gt_field=gt_field, eval_key=key,
                                                       iou=0.5, progress=False)
    scores["eval_key"] = key
    record_run(collection, run_key(DETECTION_EVAL, field),
               {"method": "ldfa.evaluate_face_detection", "field": field,
                "gt_field": gt_field, "pred_field": pred_field, "eval_key": key,
                "detector": detector, "confidence": confidence,
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
