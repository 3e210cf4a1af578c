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
from ldfa.plugin.progress import Progress, ProgressArg


def import_coco(images_dir: str | Path, annotations: str | Path, dataset: fo.Dataset,
                progress: ProgressArg = True) -> dict:
    """Add the images of a COCO instances file to ``dataset``, with their boxes in ``ground_truth``.

    ``file_name``s that are absolute, contain ``..`` or are symlinks leading outside
    ``images_dir`` are refused. Samples remember ``relpath`` (relative to the common root of the
    images folder and the JSON), ``coco_id`` and ``file_name``.
    """
    images_dir = Path(images_dir).expanduser().resolve()
    annotations = Path(annotations).expanduser().resolve()
    try:
        doc = json.loads(annotations.read_text())
        images = doc["images"]
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"{annotations} is not a readable COCO annotation file: {e}") from None
    root = Path(os.path.commonpath([images_dir, annotations.parent]))
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
            dets = [fo.Detection(label=categories.get(a["category_id"], str(a["category_id"])),
                                 bounding_box=[a["bbox"][0] / w, a["bbox"][1] / h, a["bbox"][2] / w, a["bbox"][3] / h],
                                 iscrowd=a.get("iscrowd", 0), coco_id=a["id"])
                    for a in boxes.get(image["id"], [])]
            samples.append(fo.Sample(filepath=str(path), relpath=relpath, coco_id=image["id"],
                                     file_name=image["file_name"], ground_truth=fo.Detections(detections=dets)))
    dataset.add_samples(samples, progress=False)
    dataset.info["ldfa_source"] = {"format": "coco", "root": str(root),
                                   "annotations": annotations.relative_to(root).as_posix(),
                                   "images": images_dir.relative_to(root).as_posix()}
    dataset.save()
    return {"images": len(samples), "annotations": sum(len(s.ground_truth.detections) for s in samples),
            "problems": problems}


def source_files(root: Path, info: dict, dataset: fo.Dataset):
    """What a COCO export gives back: the annotation file and every imported image."""
    yield info["annotations"]
    yield from sorted(dataset.values("relpath"))

