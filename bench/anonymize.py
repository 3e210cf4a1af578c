"""Anonymization speed on this machine: LDFA one face per call (the paper) vs ldfa's batched engine.

    .venv/bin/python bench/anonymize.py [--faces 4] [--crop-size 256] [--steps 4] [--model-dir DIR]

LDFA runs the full-size Stable Diffusion 1.5 inpainting architecture (UNet with 9 input channels
and 768-wide cross-attention, the 4-level VAE, a CLIP ViT-L/14 text encoder) built from configs
with random weights: the same compute as the real model, nothing downloaded. The pipeline is
saved as a local model folder and loaded through ldfa's own loader, so both modes run exactly
``ldfa.plugin.anonymization.diffusion.Inpainter``, on the same faces (CenterFace detections on a group photo),
at the same crop size and steps:
  (a) paper: one face per pipeline call (batch size 1), as the published procedure does;
  (b) batched: all faces in one call (batch size = --batch-size, default all faces).
Each mode runs in its own process after one untimed warm-up face, so peak resident memory is
that mode's alone ("RSS warm": after the warm-up, with the weights paged in). Printed: seconds
per face, the ratio a/b, seconds per UNet call, the VAE and text-encoder shares, peak RSS, and
how far apart the two modes' faces are (they must agree to float tolerance: batching must not
change a face). Also the classic methods in faces per second
(the method itself on the same faces, without file I/O).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa_testing.sd15 import PHOTO, build_full_size, face_jobs, load_faces  # noqa: E402

MODEL_DIR_NAME = "sd15-inpainting-random"


def _timed(fn, totals: dict, name: str):
    """``fn`` that adds its wall time and call count to ``totals[name]``."""
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        totals[name][0] += time.perf_counter() - start
        totals[name][1] += 1
        return result
    return wrapper


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(mode: str, args) -> dict:
    """One mode, in this process: load, warm up on one face, time all faces."""
    import torch

    from ldfa.plugin.anonymization.config import PAPER, DiffusionConfig
    from ldfa.plugin.anonymization.diffusion import Inpainter

    image, regions = load_faces(args.faces)
    jobs = face_jobs(image, regions)
    inpainter = Inpainter(DiffusionConfig(
        model=str(args.model_dir), num_inference_steps=args.steps, crop_size=args.crop_size,
        batch_size=1 if mode == "paper" else args.batch_size or len(jobs),
        **{k: PAPER[k] for k in ("guidance_scale", "strength", "prompt", "negative_prompt", "context_px")},
    ))
    start = time.perf_counter()
    pipe = inpainter.pipeline
    load_s = time.perf_counter() - start
    inpainter(jobs[:1])  # warm-up: first allocations, kernel selection, weights paged in
    rss_warm = rss_mb()
    totals = {name: [0.0, 0] for name in ("unet", "vae_encode", "vae_decode", "text_encoder")}
    pipe.unet.forward = _timed(pipe.unet.forward, totals, "unet")
    pipe.vae.encode = _timed(pipe.vae.encode, totals, "vae_encode")
    pipe.vae.decode = _timed(pipe.vae.decode, totals, "vae_decode")
    pipe.text_encoder.forward = _timed(pipe.text_encoder.forward, totals, "text_encoder")
    start = time.perf_counter()
    faces = inpainter(jobs)
    total_s = time.perf_counter() - start
    np.savez(args.faces_out, *faces)
    return {"mode": mode, "batch_size": inpainter.config.batch_size, "faces": len(jobs),
            "threads": torch.get_num_threads(), "dtype": str(pipe.dtype).removeprefix("torch."),
            "face_px": [min(r[2] - r[0], r[3] - r[1]) for r in regions],
            "load_s": load_s, "total_s": total_s, "totals": totals,
            "rss_warm_mb": rss_warm,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def classic_faces_per_s(image: np.ndarray, regions, repeats: int = 20) -> dict[str, float]:
    from ldfa.plugin.anonymization.config import AnonymizationConfig
    from ldfa.plugin.anonymization.methods import METHODS

    rates, params = {}, AnonymizationConfig()  # the config holds every method's defaults
    sides = [min(x2 - x1, y2 - y1) for x1, y1, x2, y2 in regions]
    for name, method in ((n, m.paint) for n, m in METHODS.items() if m.paint and "face" in m.kinds):
        method(image, regions[0], sides[0], params)
        start = time.perf_counter()
        for _ in range(repeats):
            for region, side in zip(regions, sides):
                method(image, region, side, params)
        rates[name] = repeats * len(regions) / (time.perf_counter() - start)
    return rates


def report(a: dict, b: dict, a_faces: list, b_faces: list, args) -> None:
    source = PHOTO.name if PHOTO.is_file() else "sample photos"
    print(f"faces: {a['faces']} (shorter side {a['face_px']} px) from {source}; "
          f"crops {args.crop_size}x{args.crop_size}, num_inference_steps {args.steps} at strength 0.75 "
          f"(= {a['totals']['unet'][1] // a['faces']} UNet calls per face), guidance 1, {a['dtype']}, "
          f"{a['threads']} torch threads")
    print(f"{'mode':<22} {'s/face':>7} {'total s':>8} {'UNet s/call':>11} {'UNet s/face-call':>16} "
          f"{'VAE enc s':>9} {'VAE dec s':>9} {'text s':>7} {'load s':>6} {'RSS warm MB':>11} {'peak RSS MB':>11}")
    for r, label in ((a, "(a) paper, 1 per call"), (b, f"(b) batched, {b['batch_size']} per call")):
        t = r["totals"]
        unet_s, unet_calls = t["unet"]
        print(f"{label:<22} {r['total_s'] / r['faces']:>7.2f} {r['total_s']:>8.2f} "
              f"{unet_s / unet_calls:>11.2f} {unet_s / unet_calls / r['batch_size']:>16.2f} "
              f"{t['vae_encode'][0]:>9.2f} {t['vae_decode'][0]:>9.2f} {t['text_encoder'][0]:>7.2f} "
              f"{r['load_s']:>6.1f} {r['rss_warm_mb']:>11.0f} {r['peak_rss_mb']:>11.0f}")
    print(f"ratio a/b (time per face): {a['total_s'] / b['total_s']:.2f}")
    diff = max(int(np.abs(x.astype(int) - y.astype(int)).max()) for x, y in zip(a_faces, b_faces))
    print(f"largest pixel difference between (a) and (b) faces: {diff} of 255")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--crop-size", type=int, default=256, help="model resolution of each face crop")
    parser.add_argument("--steps", type=int, default=4, help="num_inference_steps (x strength 0.75 run)")
    parser.add_argument("--batch-size", type=int, help="(b)'s faces per call (default: all)")
    parser.add_argument("--model-dir", type=Path,
                        help="keep the random-weight model folder here (built if absent; 4.3 GB)")
    parser.add_argument("--worker", choices=["paper", "batched"], help=argparse.SUPPRESS)
    parser.add_argument("--faces-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args)))
        return
    with tempfile.TemporaryDirectory(prefix="ldfa-bench-") as tmp:
        model_dir = args.model_dir or Path(tmp) / MODEL_DIR_NAME
        if not (model_dir / "model_index.json").is_file():
            start = time.perf_counter()
            build_full_size(model_dir)
            print(f"built the random-weight SD-1.5 inpainting model in {time.perf_counter() - start:.0f} s")
        results, faces = {}, {}
        for mode in ("paper", "batched"):
            out = Path(tmp) / f"{mode}.npz"
            command = [sys.executable, __file__, "--worker", mode, "--model-dir", str(model_dir),
                       "--faces", str(args.faces), "--crop-size", str(args.crop_size),
                       "--steps", str(args.steps), "--faces-out", str(out)]
            if args.batch_size:
                command += ["--batch-size", str(args.batch_size)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{mode} run failed:\n{done.stderr[-3000:]}")
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            with np.load(out) as saved:
                faces[mode] = [saved[k] for k in saved.files]
        report(results["paper"], results["batched"], faces["paper"], faces["batched"], args)
    image, regions = load_faces(args.faces)
    rates = classic_faces_per_s(image, regions)
    print("classic methods (method only, same faces): "
          + ", ".join(f"{name} {rate:.0f} faces/s" for name, rate in rates.items()))


if __name__ == "__main__":
    main()
