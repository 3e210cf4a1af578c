"""COCO import: an images folder and an instances JSON, read in place.

The JSON is parsed only to show its boxes in the App and to know which images exist; the
export copies the original file byte for byte (FiftyOne's COCO exporter would renumber ids,
rewrite ``info`` and round coordinates), so every key, id, order and extra survives.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import fiftyone as fo

from ldfa.converters.safety import contained
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.geometry.boxes import from_pixels
from ldfa.plugin.models.detector.config import PEOPLE_LABELS
from ldfa.plugin.progress import Progress, ProgressArg


def coco_root(images_dir: Path, annotations: Path) -> Path:
    """The tree a COCO source is: the deepest folder holding its images folder and its JSON."""
    return Path(os.path.commonpath([images_dir, annotations.parent]))


def import_coco(images_dir: str | Path, annotations: str | Path, dataset: fo.Dataset,
                progress: ProgressArg = True) -> dict:
    """Add the images of a COCO instances file to ``dataset``, with their boxes in ``ground_truth``.

    ``file_name``s that are absolute, contain ``..`` or are symlinks leading outside
    ``images_dir`` are refused. Samples remember ``relpath`` (relative to the common root of the
    images folder and the JSON), ``coco_id`` and ``file_name``. Person keypoints are kept on
    their boxes (``keypoints``), where face detection looks for faces it missed.
    """
    images_dir = Path(images_dir).expanduser().resolve()
    annotations = Path(annotations).expanduser().resolve()
    try:
        doc = json.loads(annotations.read_text())
        images = doc["images"]
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"{annotations} is not a readable COCO annotation file: {e}") from None
    root = coco_root(images_dir, annotations)
    try:  # checked before anything is added: a malformed entry is one line, not a traceback
        categories = {c["id"]: c["name"] for c in doc.get("categories", [])}
        boxes: dict[int, list] = {}
        for ann in doc.get("annotations", []):
            boxes.setdefault(ann["image_id"], []).append(ann)
        existing = set(dataset.values("relpath")) if dataset.has_field("relpath") else set()
        samples, problems = [], []
        with Progress(len(images), "Importing COCO", progress) as bar:
            for image in images:
                bar.update()
                path = contained(images_dir, image["file_name"])
                relpath = path.relative_to(root).as_posix()
                if relpath in existing:
                    continue
                if not path.is_file():
                    problems.append({"file": image["file_name"], "error": "listed in the JSON but missing"})
                    continue
                w, h = float(image["width"]), float(image["height"])
                dets = [_detection(a, categories, w, h) for a in boxes.get(image["id"], [])]
                samples.append(fo.Sample(filepath=str(path), relpath=relpath, coco_id=image["id"],
                                         file_name=image["file_name"], ground_truth=fo.Detections(detections=dets)))
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{annotations} is not a valid COCO annotation file: an entry lacks or "
                          f"mangles {e}") from None
    dataset.add_samples(samples, progress=False)
    has_people = bool(dataset.count_values("ground_truth.detections.label").keys() & PEOPLE_LABELS)
    dataset.info["ldfa_source"] = {"format": "coco", "root": str(root),
                                   "annotations": annotations.relative_to(root).as_posix(),
                                   "images": images_dir.relative_to(root).as_posix(),
                                   "people_fields": ["ground_truth"] if has_people else []}
    dataset.save()
    return {"images": len(samples), "annotations": sum(len(s.ground_truth.detections) for s in samples),
            "problems": problems}


def _detection(ann: dict, categories: dict, w: float, h: float) -> fo.Detection:
    """One COCO annotation as a relative box; keypoints (person) as relative [x, y, v] triples."""
    det = fo.Detection(label=categories.get(ann["category_id"], str(ann["category_id"])),
                       bounding_box=from_pixels(*ann["bbox"], w, h),
                       iscrowd=ann.get("iscrowd", 0), coco_id=ann["id"])
    points = ann.get("keypoints")
    if points:
        det["keypoints"] = [[px / w, py / h, v] for px, py, v in zip(points[::3], points[1::3], points[2::3])]
    return det
