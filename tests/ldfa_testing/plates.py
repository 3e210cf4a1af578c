"""The shared licence plate photos (``../shared/data/plates``) and how much of a plate an output changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PLATES = Path(__file__).resolve().parents[3] / "shared" / "data" / "plates"


def shared_plates() -> tuple[Path, Path]:
    """The plate photos' folder and their COCO file, or a skip saying they are missing."""
    if not (PLATES / "plates_coco.json").exists():
        pytest.skip(f"{PLATES} is missing: the shared plates sit beside the checkout in CI")
    return PLATES, PLATES / "plates_coco.json"


def labelled_plates() -> dict[str, list[list[float]]]:
    """Each photo's labelled plates (pixel [x, y, w, h]) by file name."""
    coco = json.loads(shared_plates()[1].read_text())
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    boxes: dict[str, list] = {name: [] for name in names.values()}
    for a in coco["annotations"]:
        boxes[names[a["image_id"]]].append(a["bbox"])
    return boxes


def subset(folder: Path, count: int) -> Path:
    """A COCO folder of the first ``count`` plate photos (images/ and their plates' JSON), for
    tests that need a few; returns the JSON."""
    coco = json.loads(shared_plates()[1].read_text())
    images = coco["images"][:count]
    kept = {image["id"] for image in images}
    (folder / "images").mkdir(parents=True)
    for image in images:
        shutil.copy(PLATES / "images" / image["file_name"], folder / "images" / image["file_name"])
    coco.update(images=images, annotations=[a for a in coco["annotations"] if a["image_id"] in kept])
    path = folder / "plates_coco.json"
    path.write_text(json.dumps(coco))
    return path


def cover(before: Path, after: Path, box) -> float:
    """The share of a plate's labelled pixels (pixel [x, y, w, h]) that ``after`` replaced, as
    ``ldfa evaluate`` measures it (``metrics.plates``: changed pixels and those they enclose)."""
    from ldfa.plugin.metrics.plates import cover as share
    from ldfa.plugin.metrics.plates import replaced_pixels

    a, b = (np.asarray(Image.open(p).convert("RGB")) for p in (before, after))
    x, y, w, h = box
    return share(replaced_pixels(a, b), (int(x), int(y), int(np.ceil(x + w)), int(np.ceil(y + h))))
