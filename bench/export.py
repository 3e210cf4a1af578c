"""Cityscapes export speed and memory: import, pixelate, export and verify a synthetic tree.

    .venv/bin/python bench/export.py [--images 2000] [--width 256] [--height 128]

Writes a Cityscapes tree of ``--images`` random RGB PNGs (``--width`` x ``--height``) with a
polygons JSON and a labelIds PNG each, spread over 2 splits and 4 cities, gives every image one
synthetic face box (detection is benchmarked by bench/detection.py, not here), then times each
stage in images per second. Peak RSS is printed after each stage so that memory which grows with
the number of images shows up as a rising figure; run with a smaller ``--images`` to compare.
The FiftyOne database is a private, throwaway one.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa_testing.private_db import use_private_database  # noqa: E402

WORK = use_private_database("ldfa-bench-export")  # before fiftyone is imported


def write_tree(root: Path, images: int, width: int, height: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    places = [("train", "aachen"), ("train", "bochum"), ("val", "frankfurt"), ("val", "lindau")]
    polygons = json.dumps({"imgHeight": height, "imgWidth": width, "objects": [
        {"label": "road", "polygon": [[0, height // 2], [width - 1, height // 2], [width - 1, height - 1]]}]})
    for n in range(images):
        split, city = places[n % len(places)]
        stem = f"{city}_{n:06d}_000019"
        img = root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
        gt = root / "gtFine" / split / city
        img.parent.mkdir(parents=True, exist_ok=True)
        gt.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(img)
        (gt / f"{stem}_gtFine_polygons.json").write_text(polygons)
        Image.fromarray(rng.integers(0, 30, (height, width), dtype=np.uint8)).save(gt / f"{stem}_gtFine_labelIds.png")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=128)
    args = parser.parse_args()

    import fiftyone as fo

    import ldfa

    root = WORK / "cityscapes"
    write_tree(root, args.images, args.width, args.height)
    print(f"{args.images} images of {args.width}x{args.height} px, one face each; "
          f"peak RSS after set-up {peak_rss_mib():.0f} MiB")
    dataset = fo.Dataset()
    stages = [
        ("import", lambda: ldfa.import_cityscapes(root, dataset, progress=False)),
        ("pixelate", lambda: ldfa.anonymize_faces(dataset, method="pixelate", output_dir=WORK / "anon",
                                                  progress=False)),
        ("export", lambda: ldfa.export_anonymized(dataset, "anon_pixelate", WORK / "export", progress=False)),
        ("verify", lambda: ldfa.verify_export(root, WORK / "export", progress=False)),
    ]
    for name, stage in stages:
        start = time.perf_counter()
        result = stage()
        seconds = time.perf_counter() - start
        print(f"{name:9s} {args.images / seconds:8.1f} images/s  ({seconds:.1f} s)  "
              f"peak RSS {peak_rss_mib():.0f} MiB")
        if name == "import":
            dataset.set_values("faces", [fo.Detections(detections=[fo.Detection(
                label="face", bounding_box=[0.4, 0.3, 0.1, 0.25])])] * len(dataset))
    if not result["ok"]:
        raise SystemExit(f"verification failed: {result['problems'][:3]}")


if __name__ == "__main__":
    main()
