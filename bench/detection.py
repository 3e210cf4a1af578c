"""Face detector accuracy and speed on this machine, per backend.

    .venv/bin/python bench/detection.py [--backends retinaface mtcnn centerface] [--frames 8]

Accuracy: recall and precision at IoU >= 0.5 (at each backend's default confidence 0.5) and AP50
on the 43 labelled faces of ../shared/data/face-boxes/dlib_faces; dogs.jpg must yield no face.
Speed: images per second on 2048x1024 street frames (../shared/data/crowds/demo.png upscaled 2x),
in batches of --batch-size (default: the detector default), after one warm-up batch; peak resident memory of a process that ran only that
backend. Each backend runs in its own process so peaks do not mix.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ldfa.plugin.detectors import DetectorConfig

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CONFIDENCE = 0.5


def measure(backend: str, frames: int, batch_size: int) -> dict:
    import numpy as np
    from PIL import Image

    import dlib_faces
    from ldfa.plugin.detect import detect_faces
    from ldfa.plugin.detectors import detect

    dataset = dlib_faces.load(DATA / "face-boxes" / "dlib_faces", f"bench-{uuid.uuid4().hex[:6]}")
    detect_faces(dataset, label_field="pred", detector=backend, confidence=0.02, progress=False)
    row = {"backend": backend, **dlib_faces.score(dataset, "pred", CONFIDENCE)}
    dataset.delete()

    street = np.asarray(Image.open(DATA / "crowds" / "demo.png").convert("RGB").resize((2048, 1024)))
    config = DetectorConfig(detector=backend, confidence=CONFIDENCE, batch_size=batch_size)
    detect([street] * config.batch_size, config)  # warm-up: model load, first allocations
    start = time.perf_counter()
    for _ in range(0, frames, batch_size):
        detect([street] * config.batch_size, config)
    row["street_images_per_s"] = frames / (time.perf_counter() - start)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["retinaface", "mtcnn", "centerface"])
    parser.add_argument("--frames", type=int, default=16, help="street frames timed")
    parser.add_argument("--batch-size", type=int, default=DetectorConfig.batch_size)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one backend, print JSON
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"needs the shared test photos at {DATA}")
    if args.one:
        print(json.dumps(measure(args.one, args.frames, args.batch_size)))
        return
    env = {**os.environ, "FIFTYONE_DATABASE_NAME": f"ldfa-bench-{uuid.uuid4().hex[:6]}"}
    print(f"{'backend':<11} {'faces':>5} {'recall':>6} {'precision':>9} {'AP50':>6} "
          f"{'on dogs':>7} {'img/s 2048x1024':>15} {'peak MB':>8}")
    for backend in args.backends:
        out = subprocess.run([sys.executable, __file__, "--one", backend, "--frames", str(args.frames),
                              "--batch-size", str(args.batch_size)],
                             env=env, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{backend:<11} {r['faces']:>5} {r['recall']:>6.3f} {r['precision']:>9.3f} "
              f"{r['ap50']:>6.3f} {r['faces_on_negatives']:>7} {r['street_images_per_s']:>15.2f} "
              f"{r['peak_rss_mb']:>8.0f}")


if __name__ == "__main__":
    main()
