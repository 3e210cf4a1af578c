"""LDFA on a GPU: seconds per face and peak GPU memory at batch 1, 4, 8 and 16, fp16.

    .venv/bin/python bench/gpu.py [--batch-sizes 1 4 8 16] [--steps 50] [--model-dir DIR]

The full-size Stable Diffusion 1.5 inpainting architecture with random weights (the compute of
the real model; ``ldfa_testing.sd15``) in float16 on CUDA, run through ldfa's own
``Inpainter`` as an anonymization run does, with the published procedure's settings: 512-px
crops, 50 steps at strength 0.75 (37 UNet calls per face), guidance 1, 32 px of context. The
faces are CenterFace's on a group photo (or the packaged photos). For each batch size one untimed
call warms up, then as many faces as the largest batch are timed; printed per batch size:
seconds per face, faces per second and the peak GPU memory of that batch size. Without a CUDA
GPU it says so in one line and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa_testing.sd15 import PHOTO, build_full_size, face_jobs, load_faces  # noqa: E402


def measure(model: str, batch_sizes: list[int], steps: int) -> list[dict]:
    """One row per batch size: seconds per face and peak GPU memory."""
    import torch

    from ldfa.plugin.anonymization.config import PAPER, DiffusionConfig
    from ldfa.plugin.anonymization.diffusion import Inpainter

    image, regions = load_faces(max(batch_sizes))
    jobs = face_jobs(image, regions)
    rows = []
    for size in batch_sizes:
        inpainter = Inpainter(DiffusionConfig(
            model=model, device="cuda", dtype="float16", batch_size=size, num_inference_steps=steps,
            **{k: PAPER[k] for k in ("crop_size", "strength", "guidance_scale", "context_px")}))
        inpainter(jobs[:size])  # warm-up: loading, kernel selection, the allocator's first blocks
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        faces = inpainter(jobs)
        torch.cuda.synchronize()
        spent = time.perf_counter() - start
        assert all(not isinstance(f, str) for f in faces), faces  # no face fell back
        peak = torch.cuda.max_memory_allocated() / 2**30
        rows.append({"batch": size, "faces": len(jobs), "s_per_face": spent / len(jobs),
                     "faces_per_s": len(jobs) / spent, "peak_gib": peak})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--model-dir", type=Path, help="keep the random-weight model here (built if absent)")
    args = parser.parse_args()
    import diffusers
    import torch

    if not torch.cuda.is_available():
        sys.exit("bench/gpu.py needs a CUDA GPU and torch sees none here: nothing measured")
    with tempfile.TemporaryDirectory(prefix="ldfa-bench-gpu-") as tmp:
        folder = args.model_dir or Path(tmp) / "sd15-inpainting-random"
        if not (folder / "model_index.json").is_file():
            build_full_size(folder)
        rows = measure(str(folder), args.batch_sizes, args.steps)
    name = torch.cuda.get_device_name()
    source = PHOTO.name if PHOTO.is_file() else "the packaged photos"
    print(f"{name}, torch {torch.__version__}, CUDA {torch.version.cuda}, diffusers "
          f"{diffusers.__version__}; SD-1.5 inpainting "
          f"architecture, random weights, float16; 512-px crops, {args.steps} steps at strength "
          f"0.75, guidance 1; faces from {source}")
    print(f"{'batch':>5} {'faces':>5} {'s/face':>7} {'faces/s':>8} {'peak GiB':>9}")
    for r in rows:
        print(f"{r['batch']:>5} {r['faces']:>5} {r['s_per_face']:>7.3f} {r['faces_per_s']:>8.2f} "
              f"{r['peak_gib']:>9.2f}")


if __name__ == "__main__":
    main()
