"""The 43 hand-labelled faces of ../shared/data/face-boxes/dlib_faces as a FiftyOne dataset.

Shared by bench/detection.py and the detection accuracy test. The labels are dlib imglab XML
(``<box top left width height>``) from training.xml and testing.xml; dogs.jpg (no human face)
is added with an empty ground truth so any face found there counts as a false positive.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

NEGATIVES = ("dogs.jpg",)


def load(folder: Path, name: str):
    """A fresh dataset with a ``ground_truth`` Detections field (relative boxes)."""
    import fiftyone as fo

    dataset = fo.Dataset(name, overwrite=True)
    samples = []
    for xml_name in ("training.xml", "testing.xml"):
        for image in ET.parse(folder / xml_name).getroot().iter("image"):
            width, height = float(image.get("width")), float(image.get("height"))
            boxes = [
                fo.Detection(label="face", bounding_box=[
                    float(b.get("left")) / width, float(b.get("top")) / height,
                    float(b.get("width")) / width, float(b.get("height")) / height])
                for b in image.iter("box") if b.get("ignore") != "1"
            ]
            samples.append(fo.Sample(filepath=str(folder / image.get("file")),
                                     ground_truth=fo.Detections(detections=boxes)))
    for negative in NEGATIVES:
        samples.append(fo.Sample(filepath=str(folder / negative), ground_truth=fo.Detections()))
    dataset.add_samples(samples, progress=False)
    return dataset


def score(dataset, pred_field: str, confidence: float) -> dict:
    """Recall and precision at IoU >= 0.5 for faces scoring >= ``confidence``, and AP50 over all."""
    from fiftyone import ViewField as F

    results = dataset.evaluate_detections(pred_field, gt_field="ground_truth", eval_key="all",
                                          iou=0.5, compute_mAP=True, iou_threshs=[0.5])
    ap50 = results.mAP()
    kept = dataset.filter_labels(pred_field, F("confidence") >= confidence, only_matches=False)
    kept.evaluate_detections(pred_field, gt_field="ground_truth", eval_key="kept", iou=0.5)
    tp, fp, fn = (sum(kept.values(f"kept_{k}")) for k in ("tp", "fp", "fn"))
    negatives = kept.match(F("filepath").ends_with(NEGATIVES)).count(f"{pred_field}.detections")
    return {
        "faces": tp + fn,
        "recall": tp / max(tp + fn, 1),
        "precision": tp / max(tp + fp, 1),
        "beyond_labels": fp,  # boxes matching no labelled face (unlabelled faces among them)
        "ap50": ap50,
        "faces_on_negatives": negatives,
    }
