"""Cityscapes import: a root folder in the standard layout, read in place (no zips, no copies).

Images are ``leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png`` and the frame sequences around
them, ``leftImg8bit_sequence/{split}/{city}/{city}_{seq}_{frame}_leftImg8bit.png``, whose samples
also hold ``sequence`` and ``sequence_frame`` so faces can be followed across frames (a root may
hold either folder or both). Whatever annotations exist
beside them are loaded for viewing: ``gtFine``/``gtCoarse`` polygons as polylines, label and
instance id PNGs as segmentations (by path), CityPersons boxes as detections. The polygon and
CityPersons fields also tell face detection where the people are, and the polygon fields holding
``license plate`` polygons (on cars) are the dataset's own plates, a second opinion for plate
detection (``ldfa.plugin.geometry.polygons.plates_from_polylines`` turns them into boxes). The
annotation files themselves are never rewritten: the export copies them byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import fiftyone as fo

from ldfa.converters.sequences import cityscapes_frame
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.geometry.boxes import from_pixels
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.schema import PLATE_LABEL

IMAGE_SUFFIX = "_leftImg8bit.png"
FRAMES = ("leftImg8bit", "leftImg8bit_sequence")  # the annotated frames, the sequences around them
POLYGONS = {"gt_fine": ("gtFine", "_gtFine_polygons.json"), "gt_coarse": ("gtCoarse", "_gtCoarse_polygons.json")}
MASKS = {"gt_fine_label_ids": ("gtFine", "_gtFine_labelIds.png"),
         "gt_fine_instance_ids": ("gtFine", "_gtFine_instanceIds.png")}
PERSONS = ("gtBboxCityPersons", "_gtBboxCityPersons.json")


def import_cityscapes(root: str | Path, dataset: fo.Dataset, progress: ProgressArg = True) -> dict:
    """Add every Cityscapes image under ``root`` to ``dataset`` with its annotations.

    Returns a report: images added, annotation files loaded, and problems (a malformed file is
    reported and skipped, never fatal). Samples remember ``relpath`` (root-relative path),
    ``split`` and ``city``; the dataset's ``info["ldfa_source"]`` remembers the root, the fields
    with people (``people_fields``) and those with licence plate polygons (``plates_fields``). The
    annotated frame of a sequence is two files, in ``leftImg8bit/`` and in the sequence: both
    are samples with that frame's annotations (its people help face detection in both), and only
    the sequence's copy is a frame of it (the other one is imported exactly as without sequences).
    """
    root = Path(root).expanduser().resolve()
    images = [image for folder in FRAMES for image in sorted((root / folder).glob(f"*/*/*{IMAGE_SUFFIX}"))]
    if not images:
        raise ConfigError(f"{root} has no {' or '.join(FRAMES)}/<split>/<city>/*{IMAGE_SUFFIX}: "
                          "not a Cityscapes root")
    existing = set(dataset.values("relpath")) if dataset.has_field("relpath") else set()
    report = {"images": 0, "annotations": 0, "problems": []}
    samples = []
    with Progress(len(images), "Importing Cityscapes", progress) as bar:
        for image in images:
            bar.update()
            relpath = image.relative_to(root).as_posix()
            if relpath in existing:
                continue
            if not image.resolve().is_relative_to(root):
                report["problems"].append({"file": relpath, "error": "symlink leading outside the root: skipped"})
                continue
            split, city = image.parent.parent.name, image.parent.name
            stem = image.name[: -len(IMAGE_SUFFIX)]
            sample = fo.Sample(filepath=str(image), relpath=relpath, split=split, city=city)
            if relpath.startswith(f"{FRAMES[1]}/") and (frame := cityscapes_frame(image.name)):
                sample["sequence"], sample["sequence_frame"] = frame
            for field, (folder, suffix) in POLYGONS.items():
                _load(sample, field, root / folder / split / city / f"{stem}{suffix}", _polylines, report, root)
            for field, (folder, suffix) in MASKS.items():
                path = root / folder / split / city / f"{stem}{suffix}"
                if path.is_file():
                    sample[field] = fo.Segmentation(mask_path=str(path))
                    report["annotations"] += 1
            folder, suffix = PERSONS
            _load(sample, "persons", root / folder / split / city / f"{stem}{suffix}", _persons, report, root)
            samples.append(sample)
    dataset.add_samples(samples, progress=False)
    report["images"] = len(samples)
    people = [f for f in (*POLYGONS, "persons") if dataset.has_field(f) and dataset.exists(f).count()]
    plates = [f for f in POLYGONS
              if dataset.has_field(f) and dataset.count_values(f"{f}.polylines.label").get(PLATE_LABEL)]
    dataset.info["ldfa_source"] = {"format": "cityscapes", "root": str(root), "people_fields": people,
                                   "plates_fields": plates}
    dataset.save()
    return report


def _load(sample, field, path: Path, parse, report, root) -> None:
    if not path.is_file():
        return
    try:
        sample[field] = parse(json.loads(path.read_text()))
        report["annotations"] += 1
    except (ValueError, KeyError, TypeError, IndexError) as e:
        report["problems"].append({"file": path.relative_to(root).as_posix(), "error": f"malformed: {e}"})


def _polylines(doc: dict) -> fo.Polylines:
    w, h = float(doc["imgWidth"]), float(doc["imgHeight"])
    return fo.Polylines(polylines=[
        fo.Polyline(label=obj["label"], points=[[(x / w, y / h) for x, y in obj["polygon"]]],
                    closed=True, filled=True)
        for obj in doc["objects"]
    ])


def _persons(doc: dict) -> fo.Detections:
    w, h = float(doc["imgWidth"]), float(doc["imgHeight"])
    return fo.Detections(detections=[
        fo.Detection(label=obj["label"], bounding_box=from_pixels(*obj["bbox"], w, h))
        for obj in doc["objects"]
    ])
