"""Scale-out: images per second of the local engine and of Ray with 1 and 2 workers, end to end.

    .venv/bin/python bench/scale.py [--images 48] [--cpus 2]

The 2048x1024 Cityscapes-size frames of ``../shared/data/street-faces`` (7 PNGs, 3-20 faces
each), copied ``--images`` times over into a throwaway tree. For each engine the whole SDK call
is timed, as a user runs it: ``detect_faces`` (the default detector with its zoom pass), then
``anonymize_faces(method="gauss")`` on the faces found; reading from and writing back to
FiftyOne, Ray's actor start-up and model loading included. Ray runs on this machine with
``--cpus`` CPUs, started once before the timings (a cluster is up before work is sent to it).
Each Ray run's labels and files are checked against the local engine's. The FiftyOne database
is a private, throwaway one.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa_testing.private_db import use_private_database  # noqa: E402

FRAMES = Path(__file__).resolve().parents[2] / "shared" / "data" / "street-faces" / "images"


def copies(out: Path, images: int) -> list[Path]:
    """``images`` files cycling over the Cityscapes-size frames, each a file of its own."""
    frames = sorted(p for p in FRAMES.glob("*.png") if "kitti" not in p.name)
    out.mkdir(parents=True)
    paths = []
    for n in range(images):
        frame = frames[n % len(frames)]
        paths.append(out / f"{n:03d}_{frame.name}")
        shutil.copyfile(frame, paths[-1])
    return paths


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def digest(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    if not FRAMES.is_dir():
        sys.exit(f"needs the shared street frames at {FRAMES}")
    use_private_database("ldfa-bench-scale")
    import fiftyone as fo
    import ray

    import ldfa

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    engines = [("local", "local", None), ("ray, 1 worker", "ray", 1), ("ray, 2 workers", "ray", 2)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ldfa-bench-scale-") as tmp:
        tmp = Path(tmp)
        dataset = fo.Dataset()
        dataset.add_samples([fo.Sample(filepath=str(p)) for p in copies(tmp / "frames", args.images)],
                            progress=False)
        n = len(dataset)
        labels = {}
        for name, engine, workers in engines:
            field = f"faces_{engine}_{workers or 0}"
            spent = timed(lambda: ldfa.detect_faces(dataset, label_field=field, progress=False,
                                                    engine={"engine": engine, "workers": workers}))
            labels[name] = [d.bounding_box for d in dataset.values(f"{field}.detections", unwind=True)]
            rows.append(("detect", name, n, spent, labels[name] == labels["local"]))
        files = {}
        for name, engine, workers in engines:
            field = f"gauss_{engine}_{workers or 0}"
            spent = timed(lambda: ldfa.anonymize_faces(
                dataset, method="gauss", faces_field="faces_local_0", field=field, progress=False,
                output_dir=tmp / field, engine={"engine": engine, "workers": workers}))
            files[name] = digest(dataset.values(field))
            rows.append(("gauss", name, n, spent, files[name] == files["local"]))
        faces = dataset.count("faces_local_0.detections")
    ray.shutdown()
    local = {stage: n / spent for stage, name, n, spent, _ in rows if name == "local"}
    print(f"{args.images} frames of 2048x1024 px, {faces} faces; Ray on {args.cpus} CPUs of this machine")
    print(f"{'stage':<7} {'engine':<15} {'images':>6} {'seconds':>8} {'images/s':>9} {'vs local':>8}  same results")
    for stage, name, n, spent, same in rows:
        rate = n / spent
        print(f"{stage:<7} {name:<15} {n:>6} {spent:>8.1f} {rate:>9.2f} {rate / local[stage]:>7.2f}x  "
              f"{'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
