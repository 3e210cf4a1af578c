"""Licence-plate detection on ../shared/data/plates: recall by plate width, boxes matching no label,
speed, and how much a detected box must grow to cover its plate.

    .venv/bin/python bench/plates.py [--confidences 0.25 0.4 0.5] [--yolo MODEL.onnx] [--limit N]

Each detector available here runs over the 114 photos (115 labelled plates) at a few confidences,
with each zoom pass (``off``: the full frame only; ``large``: weak candidates get a second look and
frames over 1.5x the detector's input are tiled; ``all``, the default: every image tiled too).
A plate is found when a box overlaps it at IoU >= 0.5 (greedy, best overlap first). *Unlabelled*
boxes match no labelled plate: tail lights and lettering, but also real plates the labels leave
out (far plates in the dashcam frames, second cars): they bound false positives from above.
``open-image-models`` is tried too and reported unavailable where GitHub cannot be reached.
*runs/img* counts the detector's calls per image (the full frame, tiles, second looks): the
cost on any machine, where *s/img* depends on this one's load.

Grow factor: for the plates the default config finds, the factor each detected box must grow by
around its centre (width and height alike, or separately) so that >= 90 % of the labelled plate's
pixels lie inside it, for 95 % of plates. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "plates"
WIDTHS = {"<64": (0, 64), "64-128": (64, 128), "128-256": (128, 256), ">=256": (256, np.inf)}  # plate width, px
COVER = 0.9  # share of a plate's pixels inside the grown box
PLATES_COVERED = 0.95  # share of plates that must reach COVER
FACTORS = np.round(np.arange(1.0, 2.51, 0.05), 2)


def dataset(folder: Path, limit: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(file name, RGB image, labelled corner boxes) per image."""
    from ldfa.plugin.io.images import read_rgb

    coco = json.loads((folder / "plates_coco.json").read_text())
    boxes: dict[int, list] = {img["id"]: [] for img in coco["images"]}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        boxes[a["image_id"]].append([x, y, x + w, y + h])
    images = sorted(coco["images"], key=lambda i: i["file_name"])[:limit]
    return [(i["file_name"], read_rgb(str(folder / "images" / i["file_name"]))[0],
             np.asarray(boxes[i["id"]], dtype=np.float64).reshape(-1, 4)) for i in images]


def matches(labels: np.ndarray, boxes: np.ndarray) -> list[tuple[int, int]]:
    """(label, box) pairs at IoU >= 0.5, each used once, the best overlaps first."""
    from ldfa.plugin.geometry.boxes import iou

    if not len(labels) or not len(boxes):
        return []
    overlap = iou(labels, boxes)
    pairs, used_l, used_b = [], set(), set()
    for flat in np.argsort(-overlap, axis=None):
        li, bi = np.unravel_index(flat, overlap.shape)
        if overlap[li, bi] < 0.5:
            break
        if li not in used_l and bi not in used_b:
            pairs.append((int(li), int(bi)))
            used_l.add(li)
            used_b.add(bi)
    return pairs


def run(data, **params) -> dict:
    from ldfa.plugin.models.plates import PlateDetectorConfig, detect_plates_in, load_plate_backend

    config = PlateDetectorConfig.build(**params)
    backend = load_plate_backend(config.plate_detector, config.plate_model, config.device)
    runs = [0]

    def counted(image, confidence, run=type(backend).run):
        runs[0] += 1
        return run(backend, image, confidence)

    backend.run = counted  # the detector calls per image: the cost on any machine
    detect_plates_in([data[0][1]], config)  # loads the model: not timed
    found = {name: [0, 0] for name in WIDTHS}
    unlabelled, pairs, seconds, runs[0] = 0, [], 0.0, 0
    for _, image, labels in data:
        start = time.perf_counter()
        plates = detect_plates_in([image], config)[0]
        seconds += time.perf_counter() - start
        boxes = np.asarray([p.box for p in plates]).reshape(-1, 4)
        matched = matches(labels, boxes)
        unlabelled += len(boxes) - len(matched)
        hit = {li for li, _ in matched}
        for li, label in enumerate(labels):
            bucket = next(name for name, (lo, hi) in WIDTHS.items() if lo <= label[2] - label[0] < hi)
            found[bucket][0] += li in hit
            found[bucket][1] += 1
        pairs += [(labels[li], boxes[bi]) for li, bi in matched]
    total = sum(n for _, n in found.values())
    del backend.run
    return {"recall": sum(h for h, _ in found.values()) / total, "by_width": found, "pairs": pairs,
            "unlabelled": unlabelled / len(data), "seconds": seconds / len(data), "runs": runs[0] / len(data)}


def cover(label: np.ndarray, box: np.ndarray, fx: float, fy: float) -> float:
    """Share of ``label``'s pixels inside ``box`` grown ``fx`` wide and ``fy`` high around its centre."""
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * (fx, fy)
    lo, hi = np.maximum(label[:2], centre - half), np.minimum(label[2:], centre + half)
    return float((hi - lo).clip(0).prod() / np.prod(label[2:] - label[:2]))


def grow_report(pairs) -> None:
    """The grow factors that bring PLATES_COVERED of the found plates to COVER."""
    grid = np.array([[[cover(lab, box, fx, fy) >= COVER for lab, box in pairs] for fy in FACTORS]
                     for fx in FACTORS]).mean(axis=2)  # [fx, fy] -> share of plates covered
    alike = next((f for i, f in enumerate(FACTORS) if grid[i, i] >= PLATES_COVERED), None)
    ok = np.argwhere(grid >= PLATES_COVERED)
    fx, fy = min(((FACTORS[i], FACTORS[j]) for i, j in ok), key=lambda f: f[0] * f[1], default=(None, None))
    per_plate = [next((f for f in FACTORS if cover(lab, box, f, f) >= COVER), np.inf) for lab, box in pairs]
    print(f"\ngrow factor on the {len(pairs)} plates found (default config): {COVER:.0%} of a plate's pixels "
          f"inside the grown box for {PLATES_COVERED:.0%} of plates")
    print(f"  as detected: {grid[0, 0]:.1%} of plates covered; each plate's own factor (alike): "
          f"median {np.median(per_plate):.2f}, 90th percentile {np.percentile(per_plate, 90):.2f}, "
          f"95th {np.percentile(per_plate, 95):.2f}, max {max(per_plate):.2f}")
    print(f"  width and height alike: x{alike}; separately (smallest area): width x{fx}, height x{fy}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--confidences", type=float, nargs="+", default=[0.25, 0.4, 0.5])
    parser.add_argument("--yolo", type=Path, help="an Ultralytics YOLO plate ONNX to compare")
    parser.add_argument("--limit", type=int, help="only the first N images (by name)")
    args = parser.parse_args()
    if not (args.data / "plates_coco.json").exists():
        raise SystemExit(f"no plates data at {args.data}")
    from ldfa.plugin.errors import LdfaError
    from ldfa.plugin.models.plates import PLATE_ZOOMS, PlateDetectorConfig

    default = PlateDetectorConfig()
    data = dataset(args.data, args.limit)
    rows = [("platedet", None, c, default.plate_zoom) for c in args.confidences]
    rows += [("platedet", None, default.plate_confidence, z) for z in PLATE_ZOOMS if z != default.plate_zoom]
    if args.yolo:
        rows += [("yolo", str(args.yolo), default.plate_confidence, z) for z in ("off", default.plate_zoom)]
    rows.append(("open-image-models", None, default.plate_confidence, default.plate_zoom))
    labelled = sum(len(labels) for _, _, labels in data)
    buckets = "  ".join(f"{name:>9}" for name in WIDTHS)
    print(f"{len(data)} images, {labelled} labelled plates; recall at IoU 0.5 by plate width (px)")
    print(f"{'detector':18} {'conf':>5} {'zoom':>6} {'recall':>7}  {buckets}  {'unlab/img':>9} {'runs/img':>8} "
          f"{'s/img':>6}")
    pairs = None
    for detector, model, confidence, zoom in rows:
        params = {"plate_detector": detector, "plate_model": model, "plate_confidence": confidence,
                  "plate_zoom": zoom}
        try:
            result = run(data, **params)
        except LdfaError as error:
            print(f"{detector:18} unavailable: {error}")
            continue
        by_width = "  ".join(f"{f'{h}/{n}':>9}" for h, n in result["by_width"].values())
        print(f"{detector:18} {confidence:5.2f} {zoom:>6} {result['recall']:7.3f}  {by_width}  "
              f"{result['unlabelled']:9.3f} {result['runs']:8.2f} {result['seconds']:6.2f}")
        if (detector, confidence, zoom) == (default.plate_detector, default.plate_confidence, default.plate_zoom):
            pairs = result["pairs"]
    if pairs:
        grow_report(pairs)


if __name__ == "__main__":
    main()
