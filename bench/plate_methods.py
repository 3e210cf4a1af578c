"""Which plate method hides the text and which keeps the photo natural: solid, gauss, pixelate and
the synthetic plate (``plate``) on the labelled plates of ../shared/data/plates.

    .venv/bin/python bench/plate_methods.py [--methods solid,gauss,pixelate,plate] [--limit N]

Each photo's labelled plates are replaced through the engine (``plate_method``, the default
``plate_grow`` and blend ring), then per plate and method:
- changed: the share of its labelled pixels that differ at all, and of plates replaced whole
  (>= 90 % of their pixels moved more than 12 grey levels, holes filled: the tests' measure);
- OCR: the characters OCR (``models.ocr``) reads on the plate (a plausible plate reads as one),
  the original's characters it recovers there (``metrics.plates.recovered``: their longest run,
  against the labelled text where there is one, else OCR's reading of the original) and leaks
  (3 or more, of originals of at least 4 characters);
- detected: whether the default plate detector still finds a plate there (IoU >= 0.5 with the
  label): a plausible plate, beside its rate on the original photos;
- texture: the replaced box's contrast, sharpness and noise against the original's there, as
  log(after / before) each (0: the photo's own statistics; a blur shows as lost sharpness and
  noise), and their mean absolute value;
- seam: the mean luminance step across the edge of the replaced pixels (the blend ring's outer
  edge against the photo around it), after minus before, in grey levels.
OCR and the detector are optional: a column reads "n/a" when OCR's model or the default plate
detector cannot be had here. On this 2-core CPU: 20 s without the detector, 24 min with it
(it runs on every photo five times).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import FaceTask, ImagePlan, ImageTask, plan_faces, render
from ldfa.plugin.geometry.masks import face_region, paste_region
from ldfa.plugin.metrics.plates import COVER_WHOLE, LEAK_CHARS, MIN_TEXT, cover, recovered, replaced_pixels
from ldfa.plugin.models.ocr import normalize, ocr_available, read_text

PLATES = Path(__file__).resolve().parents[2] / "shared" / "data" / "plates"
METHODS = ("solid", "gauss", "pixelate", "plate")
IOU = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--limit", type=int, default=None, help="the first N photos only")
    args = parser.parse_args()
    if not (PLATES / "plates_coco.json").is_file():
        sys.exit(f"needs the labelled plates at {PLATES}")
    photos = _photos(args.limit)
    ocr, detect = _ocr(), _detector()
    methods = args.methods.split(",")
    rows = {name: collections.defaultdict(list) for name in ["original", *methods]}
    start = time.perf_counter()
    for pixels, plates in photos:
        boxes = [box for box, _ in plates]
        # What each original says: its labelled text, else what OCR reads on it
        readings = [read_text(_crop(pixels, box)) if ocr else "" for box in boxes]
        texts = [normalize(text) if text else reading for (_, text), reading in zip(plates, readings)]
        rows["original"]["read"] += [len(r) for r in readings] if ocr else []
        if detect:
            rows["original"]["detected"] += _found(detect(pixels), boxes)
        for name in methods:
            out = _replaced(pixels, boxes, name)
            replaced = replaced_pixels(pixels, out)
            row = rows[name]
            for box, text in zip(boxes, texts):
                row["differ"].append(float((_crop(out, box) != _crop(pixels, box)).any(-1).mean()))
                row["whole"].append(cover(replaced, _pixel_box(box)) >= COVER_WHOLE)
                row["texture"].append(_texture(pixels, out, box))
                row["seam"].append(_seam(out, box) - _seam(pixels, box))
                if ocr:
                    read = read_text(_crop(out, box))
                    row["read"].append(len(read))
                    if len(text) >= MIN_TEXT:
                        row["recovered"].append(recovered(text, read))
            if detect:
                row["detected"] += _found(detect(out), boxes)
    _print(rows, methods, sum(len(p) for _, p in photos), len(photos), time.perf_counter() - start)


def _photos(limit: int | None) -> list[tuple[np.ndarray, list[tuple[tuple, str | None]]]]:
    """Each photo's pixels and its plates: (pixel x1, y1, x2, y2, labelled text or None)."""
    coco = json.loads((PLATES / "plates_coco.json").read_text())
    plates = collections.defaultdict(list)
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        plates[a["image_id"]].append(((x, y, x + w, y + h), a.get("text")))
    return [(np.asarray(Image.open(PLATES / "images" / image["file_name"]).convert("RGB")), plates[image["id"]])
            for image in coco["images"][:limit]]


def _replaced(pixels: np.ndarray, boxes, method: str) -> np.ndarray:
    """``pixels`` with the plates at ``boxes`` replaced by ``method``, through the engine."""
    config = AnonymizationConfig.build(method="solid", plate_method=method)
    H, W = pixels.shape[:2]
    faces = tuple(FaceTask(str(i), _relative(box, W, H), kind="plate") for i, box in enumerate(boxes))
    task = ImageTask("s", "", "", faces)
    [(out, _)] = render([ImagePlan(task, pixels, "", 1, plan_faces(task, pixels, config))], config, None)
    return out


def _relative(box, W: int, H: int) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    return x1 / W, y1 / H, (x2 - x1) / W, (y2 - y1) / H


def _pixel_box(box) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return int(x1), int(y1), math.ceil(x2), math.ceil(y2)


def _crop(pixels: np.ndarray, box) -> np.ndarray:
    x1, y1, x2, y2 = _pixel_box(box)
    return pixels[y1:y2, x1:x2]


def _found(found: list, boxes) -> list[bool]:
    """Per labelled box: whether a detected box overlaps it at ``IOU`` or more."""
    return [any(_iou(f, box) >= IOU for f in found) for box in boxes]


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _grown(pixels: np.ndarray, box) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """The grown box the engine replaced and its paste region (box and blend ring), in pixels."""
    config = AnonymizationConfig()
    H, W = pixels.shape[:2]
    region = face_region(W, H, _relative(box, W, H), config.plate_grow)
    return region, paste_region(region, config.mask_blur_px, W, H)


def _luminance(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _statistics(lum: np.ndarray) -> np.ndarray:
    """Contrast (std), sharpness (mean gradient) and noise (Immerkaer's, median) of a patch."""
    gradient = np.abs(np.diff(lum, axis=0)).mean() + np.abs(np.diff(lum, axis=1)).mean()
    laplace = (lum[:-2, :-2] + lum[:-2, 2:] + lum[2:, :-2] + lum[2:, 2:]
               - 2 * (lum[1:-1, :-2] + lum[1:-1, 2:] + lum[:-2, 1:-1] + lum[2:, 1:-1]) + 4 * lum[1:-1, 1:-1])
    return np.array([lum.std(), gradient, np.median(np.abs(laplace)) / (0.6745 * 6)]) + 0.5


def _texture(before: np.ndarray, after: np.ndarray, box) -> np.ndarray:
    """log(after / before) of the replaced box's contrast, sharpness and noise: 0 where the new
    pixels have the statistics the photo had there."""
    x1, y1, x2, y2 = _grown(before, box)[0]
    return np.log(_statistics(_luminance(after[y1:y2, x1:x2])) / _statistics(_luminance(before[y1:y2, x1:x2])))


def _seam(pixels: np.ndarray, box) -> float:
    """The mean luminance step across the edge of the paste region (its outermost pixels
    against the pixels just outside): where the new pixels meet the photo."""
    _, (x1, y1, x2, y2) = _grown(pixels, box)
    H, W = pixels.shape[:2]
    lum = _luminance(pixels)
    steps = []
    if y1 > 0:
        steps.append(np.abs(lum[y1, x1:x2] - lum[y1 - 1, x1:x2]))
    if y2 < H:
        steps.append(np.abs(lum[y2 - 1, x1:x2] - lum[y2, x1:x2]))
    if x1 > 0:
        steps.append(np.abs(lum[y1:y2, x1] - lum[y1:y2, x1 - 1]))
    if x2 < W:
        steps.append(np.abs(lum[y1:y2, x2 - 1] - lum[y1:y2, x2]))
    return float(np.concatenate(steps).mean()) if steps else 0.0


def _ocr() -> bool:
    """Whether OCR runs here (it says why not)."""
    available, why = ocr_available()
    if not available:
        print(f"OCR: n/a ({why})")
    return available


def _detector():
    """A function from a photo to its detected plate boxes (pixel x1, y1, x2, y2), or None."""
    try:
        from ldfa.plugin.models.plates import PlateDetectorConfig, detect_plates_in

        config = PlateDetectorConfig.build()
        detect_plates_in([np.zeros((64, 64, 3), dtype=np.uint8)], config)  # loads the model, or fails here
    except Exception as error:  # noqa: BLE001 - any reason the detector cannot run is reported
        print(f"detector: n/a ({type(error).__name__}: {error})")
        return None
    print(f"detector: {config.plate_detector}")
    return lambda pixels: [tuple(float(v) for v in plate.box) for plate in detect_plates_in([pixels], config)[0]]


def _print(rows: dict, methods: list[str], plates: int, photos: int, seconds: float) -> None:
    def mean(values, fmt="{:.3f}") -> str:
        return fmt.format(float(np.mean(values))) if len(values) else "n/a"

    print(f"\n{plates} labelled plates on {photos} photos, {seconds:.0f} s\n")
    print("| method | pixels differ | replaced whole | OCR chars read | OCR chars recovered | OCR leaks "
          "| detected (IoU 0.5) | contrast, sharpness, noise: log after/before | texture distance | seam |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    original = rows["original"]
    print(f"| original | 0 | 0 | {mean(original['read'], '{:.2f}')} | | | {mean(original['detected'])} "
          "| 0, 0, 0 | 0 | 0 |")
    for name in methods:
        row = rows[name]
        leaks = [r >= LEAK_CHARS for r in row["recovered"]]
        texture = np.array(row["texture"])
        print(f"| {name} | {mean(row['differ'])} | {mean(row['whole'])} | {mean(row['read'], '{:.2f}')} "
              f"| {mean(row['recovered'], '{:.2f}')} | {mean(leaks)} | {mean(row['detected'])} "
              f"| {', '.join(f'{v:+.2f}' for v in texture.mean(axis=0))} | {np.abs(texture).mean():.2f} "
              f"| {mean(row['seam'], '{:+.1f}')} |")

if __name__ == "__main__":
    main()
