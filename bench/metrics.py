"""Speed of the metrics: faces/s of each identity embedder, and the time to evaluate a view.

    .venv/bin/python bench/metrics.py [--faces 1000] [--embed-faces 64]

Builds a throwaway dataset of copies of the shared crowd photos (../shared/data, else the
packaged sample photos) until it holds ``--faces`` detected faces, anonymizes it with
``pixelate`` and times ``compute_identity_distance`` (FaceNet + dlib) and
``evaluate_face_detection`` on it, in a private, throwaway FiftyOne database. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def photos(folder: Path) -> list[Path]:
    crowd = [SHARED / "crowds" / "test.jpg", SHARED / "crowds" / "multiface.jpg"]
    if all(p.exists() for p in crowd):
        return crowd
    from ldfa.plugin.io.sample_photos import write_sample_photos

    return write_sample_photos(folder)


def embed_speed(paths: list[Path], faces_wanted: int) -> None:
    from ldfa.plugin.geometry.crops import FaceBox
    from ldfa.plugin.io.images import read_rgb
    from ldfa.plugin.models.detector.config import DetectorConfig
    from ldfa.plugin.models.detector.passes import detect
    from ldfa.plugin.models.embedders import load_embedder

    images = [read_rgb(p)[0] for p in paths]
    jobs = [(img, [FaceBox(f.box) for f in faces]) for img, faces in
            zip(images, detect(images, DetectorConfig()))]
    for name in ("facenet", "dlib"):
        model = load_embedder(name)
        model.embed(*jobs[0])  # warm-up
        done, start = 0, time.perf_counter()
        while done < faces_wanted:
            for img, boxes in jobs:
                done += len(boxes)
                model.embed(img, boxes)
        seconds = time.perf_counter() - start
        print(f"{name}: {done / seconds:.1f} faces/s ({done} faces, crop+embed, "
              f"{getattr(model, 'provenance', {}).get('weights', 'dlib')})")


def view_speed(paths: list[Path], faces_wanted: int, work: Path) -> None:
    import fiftyone as fo

    from ldfa.plugin.anonymization.anonymize import anonymize_faces
    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.metrics.evaluation import evaluate_face_detection
    from ldfa.plugin.metrics.identity import compute_identity_distance

    src = work / "images"
    src.mkdir()
    ds = fo.Dataset()
    faces, copy = 0, 0
    while faces < faces_wanted:
        for p in paths:
            target = src / f"{copy:04d}_{p.name}"
            shutil.copy(p, target)
            sample = fo.Sample(filepath=str(target))
            ds.add_sample(sample)
            copy += 1
        detect_faces(ds.match({"faces": {"$exists": False}}), progress=False)
        faces = len(ds.values("faces.detections", unwind=True))
    anonymize_faces(ds, method="pixelate", output_dir=work / "pixelate", progress=False)
    print(f"view: {len(ds)} images, {faces} faces")
    start = time.perf_counter()
    compute_identity_distance(ds, "anon_pixelate", progress=False)
    identity = time.perf_counter() - start
    start = time.perf_counter()
    evaluate_face_detection(ds, "anon_pixelate", progress=False)
    detection = time.perf_counter() - start
    print(f"identity distance (facenet + dlib): {identity:.1f} s = {faces / identity:.1f} faces/s")
    print(f"detection utility (detect + COCOeval + evaluate_detections): {detection:.1f} s")
    print(f"evaluating the {faces}-face view: {identity + detection:.1f} s")
    ds.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=1000, help="faces in the evaluated view")
    parser.add_argument("--embed-faces", type=int, default=64, help="faces per embedder speed run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = photos(Path(tmp))
        embed_speed(paths, args.embed_faces)
        view_speed(paths, args.faces, Path(tmp))


if __name__ == "__main__":
    from ldfa_testing.private_db import use_private_database

    use_private_database("ldfa-bench-metrics")  # before fiftyone is imported
    main()
