"""The 82 hand-verified tiny faces of ../shared/data/street-faces as a FiftyOne dataset.

Shared by bench/detection.py and the street recall test. The labels are COCO boxes with a
``difficult`` flag (16 faces that could not be verified beyond doubt). A labelled face counts
as found when a detection overlaps it with IoU >= 0.3 or covers >= 70 % of it: boxes of 10-px
faces are uncertain by 1-2 px (the set's README), so COCO's IoU 0.5 would count misses that
are not. ``difficult`` faces are reported apart and are not part of the recall. ``nested_boxes``
counts the faces boxed twice, on this dataset or any other.
"""

from __future__ import annotations

import json
from pathlib import Path

from ldfa.plugin.detection.core import nested_pairs
from ldfa.plugin.metrics.face_sizes import BUCKETS, bucket


def load(folder: Path, name: str):
    """A fresh dataset with a ``ground_truth`` Detections field (relative boxes, ``difficult``)."""
    import fiftyone as fo

    coco = json.loads((folder / "faces_coco.json").read_text())
    faces: dict[int, list] = {image["id"]: [] for image in coco["images"]}
    for ann in coco["annotations"]:
        faces[ann["image_id"]].append(ann)
    dataset = fo.Dataset(name, overwrite=True)
    samples = []
    for image in coco["images"]:
        w, h = image["width"], image["height"]
        boxes = [fo.Detection(label="face", difficult=bool(a.get("difficult")),
                              bounding_box=[a["bbox"][0] / w, a["bbox"][1] / h,
                                            a["bbox"][2] / w, a["bbox"][3] / h])
                 for a in faces[image["id"]]]
        samples.append(fo.Sample(filepath=str(folder / image["file_name"]), width=w, height=h,
                                 ground_truth=fo.Detections(detections=boxes)))
    dataset.add_samples(samples, progress=False)
    return dataset


def found(truth, preds) -> bool:
    """Whether a prediction overlaps the relative box ``truth`` with IoU >= 0.3 or covers 70 %."""
    for p in preds:
        iw = max(0.0, min(truth[0] + truth[2], p[0] + p[2]) - max(truth[0], p[0]))
        ih = max(0.0, min(truth[1] + truth[3], p[1] + p[3]) - max(truth[1], p[1]))
        inter, area = iw * ih, truth[2] * truth[3]
        if inter / (area + p[2] * p[3] - inter) >= 0.3 or inter / area >= 0.7:
            return True
    return False


def score(dataset, pred_field: str) -> dict:
    """Recall overall and by size bucket (found/faces, difficult faces apart) and box count."""
    counts = {key: [0, 0] for key in (*BUCKETS, "difficult")}
    boxes = 0
    for w, h, truth, pred in zip(*dataset.values(["width", "height", "ground_truth", pred_field])):
        preds = [d.bounding_box for d in (pred.detections if pred else [])]
        boxes += len(preds)
        for face in truth.detections:
            x, y, bw, bh = face.bounding_box
            key = "difficult" if face.difficult else bucket(min(bw * w, bh * h))
            counts[key][0] += found(face.bounding_box, preds)
            counts[key][1] += 1
    hits = sum(counts[k][0] for k in BUCKETS)
    faces = sum(counts[k][1] for k in BUCKETS)
    return {"recall": hits / faces, "found": hits, "faces": faces, "boxes": boxes,
            "by_size": {k: tuple(v) for k, v in counts.items()}}


def nested_boxes(dataset, field: str) -> int:
    """Pairs of one image's (or, for a frame field ``frames.<name>``, one frame's) boxes with one
    mostly inside the other (``nested_pairs``: a share of area, the same in relative coordinates
    as in pixels): a face boxed twice, 0 expected."""
    images = dataset.values(f"{field}.detections.bounding_box")
    if field.startswith("frames."):
        images = [frame for frames in images for frame in frames]
    return sum(nested_pairs([[x, y, x + w, y + h] for x, y, w, h in boxes]) for boxes in images if boxes)
