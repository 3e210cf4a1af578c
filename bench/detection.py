"""Face detection recall and speed on this machine: every backend, ldfa's default, and deface.

    .venv/bin/python bench/detection.py [--backends centerface retinaface mtcnn] [--deface-venv DIR]

Recall: on the 66 clear tiny faces of ../shared/data/street-faces by size (shorter side < 16,
16-32, > 32 px; a face counts as found at IoU >= 0.3 or 70 % covered), the number of boxes
there (the budget is two per labelled face: 164) and the pairs of one image's boxes with one
mostly inside the other (*nested*: one face boxed twice; 0 expected), and on the 43 labelled
faces of ../shared/data/face-boxes/dlib_faces (IoU >= 0.5) with the boxes matching no labelled face
there (*unlabelled*: real faces the labels leave out among them) and the faces found on
dogs.jpg (none is right). Each backend runs twice: full frame only at confidence 0.5 (``zoom 1``), and with
ldfa's default second look (candidates from 0.1 re-detected at 2x zoom, kept from 0.2).

Speed: images per second of detection alone on the nine 2048x1024 frames of street-faces
(decoded beforehand, one warm-up frame), and of the whole command a user runs on them: ldfa's
``detect_faces`` (read, detect, write labels) and deface's CLI loop (read, detect, blur, write).

deface 1.5.0 (the same CenterFace, at its own settings: threshold 0.2, native resolution)
runs from a throwaway venv (``--deface-venv``, created with ``pip install deface==1.5.0`` when
missing), never in ldfa's. Every row runs in its own process, in a private FiftyOne database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
STREET = DATA / "street-faces"
FRAME_SIZE = (1024, 2048)  # rows, columns of the frames timed

# deface's side, run with deface's own Python: boxes at its default threshold, then timings.
DEFACE_SCRIPT = r"""
import json, os, sys, tempfile, time
import imageio.v2 as iio
from deface.centerface import CenterFace
from deface.deface import image_detect

paths, timed = json.loads(sys.argv[1]), json.loads(sys.argv[2])
net = CenterFace(in_shape=None, backend="auto")
boxes = {}
for p in paths:
    dets, _ = net(iio.imread(p)[..., :3], threshold=0.2)
    boxes[p] = [[float(v) for v in d[:4]] for d in dets]
frames = [iio.imread(p)[..., :3] for p in timed]
net(frames[0], threshold=0.2)
start = time.perf_counter()
for frame in frames:
    net(frame, threshold=0.2)
detect_s = (time.perf_counter() - start) / len(frames)
out = tempfile.mkdtemp()
start = time.perf_counter()
for p in timed:
    image_detect(p, os.path.join(out, os.path.basename(p)), net, threshold=0.2, replacewith="blur",
                 mask_scale=1.3, ellipse=True, draw_scores=False, enable_preview=False,
                 keep_metadata=False)
print(json.dumps({"boxes": boxes, "detect_s": detect_s,
                  "tool_s": (time.perf_counter() - start) / len(timed)}))
"""


def street_frames() -> list[Path]:
    from PIL import Image

    frames = []
    for path in sorted((STREET / "images").iterdir()):
        with Image.open(path) as img:
            if img.size[::-1] == FRAME_SIZE:
                frames.append(path)
    return frames


def measure(backend: str, zoom: float) -> dict:
    """One row: recall on both label sets and detection speed, in this process."""
    from ldfa_testing.private_db import use_private_database

    use_private_database("ldfa-bench-detection")
    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.io.images import read_rgb
    from ldfa.plugin.models.detector.config import DetectorConfig
    from ldfa.plugin.models.detector.passes import detect
    from ldfa_testing import dlib_faces, street_faces

    options = {"detector": backend, "zoom": zoom}
    street = street_faces.load(STREET, f"street-{uuid.uuid4().hex[:6]}")
    detect_faces(street, label_field="pred", progress=False, **options)
    row = {"detector": backend if zoom > 1 else f"{backend}, full frame only",
           **street_faces.score(street, "pred"), "nested": street_faces.nested_boxes(street, "pred")}
    faces = dlib_faces.load(DATA / "face-boxes" / "dlib_faces", f"dlib-{uuid.uuid4().hex[:6]}")
    detect_faces(faces, label_field="pred", progress=False, **options)
    row["dlib"] = dlib_faces.score(faces, "pred", confidence=0.0)

    frames = [read_rgb(str(p))[0] for p in street_frames()]
    config = DetectorConfig(**options)
    detect(frames[:1], config)  # warm-up: model load, first allocations
    start = time.perf_counter()
    for frame in frames:
        detect([frame], config)
    row["detect_images_per_s"] = len(frames) / (time.perf_counter() - start)
    if zoom > 1 and backend == "centerface":  # the whole command, for the default only
        timed = street.match({"filepath": {"$in": [str(p) for p in street_frames()]}})
        start = time.perf_counter()
        detect_faces(timed, label_field="timed", progress=False, **options)
        row["tool_images_per_s"] = len(timed) / (time.perf_counter() - start)
    return row


def deface_row(venv: Path) -> dict:
    """deface at its own settings, in its own venv; its boxes scored like ldfa's."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with deface 1.5.0 (a throwaway venv, not ldfa's)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "deface==1.5.0"], check=True)
    coco = json.loads((STREET / "faces_coco.json").read_text())
    paths = [str(STREET / im["file_name"]) for im in coco["images"]]
    timed = [str(p) for p in street_frames()]
    out = subprocess.run([str(python), "-c", DEFACE_SCRIPT, json.dumps(paths), json.dumps(timed)],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return {"boxes_by_path": result["boxes"], "detect_images_per_s": 1 / result["detect_s"],
            "tool_images_per_s": 1 / result["tool_s"]}


def score_deface(result: dict) -> dict:
    """deface's street-faces boxes scored with the same rule as ldfa's."""
    from ldfa_testing.private_db import use_private_database

    use_private_database("ldfa-bench-detection")
    import fiftyone as fo

    from ldfa.plugin.geometry.boxes import from_corners
    from ldfa_testing import street_faces

    street = street_faces.load(STREET, f"street-{uuid.uuid4().hex[:6]}")
    for sample in street.iter_samples(autosave=True):
        w, h = sample.width, sample.height
        sample["pred"] = fo.Detections(detections=[
            fo.Detection(label="face", bounding_box=from_corners(box, w, h))
            for box in result["boxes_by_path"][sample.filepath]])
    return {"detector": "deface 1.5.0 (CenterFace at 0.2)", **street_faces.score(street, "pred"),
            "nested": street_faces.nested_boxes(street, "pred"),
            "detect_images_per_s": result["detect_images_per_s"],
            "tool_images_per_s": result["tool_images_per_s"]}


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_row(r: dict) -> None:
    sizes = " ".join(f"{found:>2}/{faces:<2}" for found, faces in
                     (r["by_size"][k] for k in ("<16", "16-32", ">32")))
    dlib = r.get("dlib") or {}
    dlib_cells = (f"{dlib['recall']:>11.3f} {dlib['beyond_labels']:>9} {dlib['faces_on_negatives']:>7}"
                  if dlib else f"{'-':>11} {'-':>9} {'-':>7}")
    tool = f"{r['tool_images_per_s']:>9.2f}" if "tool_images_per_s" in r else f"{'-':>9}"
    print(f"{r['detector']:<34} {r['recall']:>6.3f} {sizes} {r['boxes']:>5} {r['nested']:>6} {dlib_cells} "
          f"{r['detect_images_per_s']:>8.2f} {tool}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["centerface", "retinaface", "mtcnn"])
    parser.add_argument("--deface-venv", type=Path,
                        default=Path(tempfile.gettempdir()) / "ldfa-bench-deface-venv")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # internal: backend zoom
    parser.add_argument("--score-deface", help=argparse.SUPPRESS)  # internal: JSON file
    args = parser.parse_args()
    if not STREET.is_dir():
        sys.exit(f"needs the shared test photos at {DATA}")
    if args.one:
        print(json.dumps(measure(args.one[0], float(args.one[1]))))
        return
    if args.score_deface:
        print(json.dumps(score_deface(json.loads(Path(args.score_deface).read_text()))))
        return
    print(f"{'detector':<34} {'recall':>6} {'<16':>5} {'16-32':>5} {'>32':>5} {'boxes':>5} {'nested':>6} "
          f"{'dlib recall':>11} {'unlabelled':>9} {'on dogs':>7} {'detect/s':>8} {'command/s':>9}")
    print(f"{'(66 street faces; boxes <= 164)':<34} {'':>6} {'(33)':>5} {'(28)':>5} {'(5)':>5}")
    for backend in args.backends:
        for zoom in ("2", "1"):
            print_row(run_child(["--one", backend, zoom]))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(deface_row(args.deface_venv), f)
    print_row(run_child(["--score-deface", f.name]))
    os.unlink(f.name)


if __name__ == "__main__":
    main()
