"""LDFA: faces replaced by Stable Diffusion inpainting, batched across faces and images.

Per face: the (grown) face box plus ``context_px`` of surroundings is cut out (reflect-padded
where it leaves the image), resized to ``crop_size`` squared, inpainted inside the box with the
face's own seeded generator, resized back, and its box part returned for a feathered paste
through the face mask. Seeds are per face, so a batch of faces gives the same faces as one
face per call. The pipeline is a real ``diffusers.StableDiffusionInpaintPipeline`` loaded once
per process from a hub id, a local folder or a single ``.safetensors`` file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ldfa.plugin.detectors import resolve_device
from ldfa.plugin.errors import ConfigError, ModelUnavailableError

DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-inpainting"

# The published LDFA procedure (Klemp et al., 2023).
PAPER = {
    "context_px": 32,
    "crop_size": 512,
    "prompt": "",
    "negative_prompt": "",
    "guidance_scale": 1.0,
    "num_inference_steps": 50,
    "strength": 0.75,
    "mask_blur_px": 4,
    "mask_grow": 1.0,
    "mask_ellipse": False,
}
PRESETS = {"paper": PAPER}


@dataclass(frozen=True)
class FaceJob:
    """One face to inpaint: its pixel region in the image and its generator seed."""

    image: np.ndarray  # display-orientation RGB of the whole image
    region: tuple[int, int, int, int]  # x1, y1, x2, y2 (end-exclusive)
    seed: int


def model_available(model: str) -> tuple[bool, str]:
    """Whether ``model`` loads without a download, and a one-line explanation."""
    path = Path(model).expanduser()
    if path.suffix == ".safetensors":
        return path.is_file(), f"{'found' if path.is_file() else 'no file'} {path}"
    if path.is_dir():
        ok = (path / "model_index.json").is_file()
        return ok, f"{path} {'is' if ok else 'is not'} a diffusers model folder (model_index.json)"
    if path.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1:
        return False, f"diffusion model folder not found: {path}"
    from huggingface_hub import try_to_load_from_cache

    cached = isinstance(try_to_load_from_cache(model, "model_index.json"), str)
    if cached:
        return True, f"{model} is in the Hugging Face cache"
    return False, (f"diffusion model {model} is not available offline: download it where the hub "
                   f"is reachable (`hf download {model}`) or pass --model /path/to/folder")


def resolve_dtype(device: str, dtype: str | None) -> torch.dtype:
    """fp16 on CUDA, fp32 on CPU (bf16 was slower on the measured CPU) unless asked otherwise."""
    if dtype is None:
        return torch.float16 if device.startswith("cuda") else torch.float32
    try:
        return {"float16": torch.float16, "fp16": torch.float16, "float32": torch.float32,
                "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}[dtype]
    except KeyError:
        raise ConfigError(f"unknown dtype {dtype!r}; use float16, float32 or bfloat16") from None


@functools.lru_cache(maxsize=2)
def load_pipeline(model: str, device: str, dtype: torch.dtype, scheduler: str | None = None):
    """The inpainting pipeline, loaded once per (model, device, dtype, scheduler) and process."""
    from diffusers import StableDiffusionInpaintPipeline

    available, why = model_available(model)
    path = Path(model).expanduser()
    options = {"dtype": dtype, "safety_checker": None, "requires_safety_checker": False}
    try:
        if path.suffix == ".safetensors":
            if not available:
                raise ModelUnavailableError(f"diffusion model file not found: {path}")
            pipe = StableDiffusionInpaintPipeline.from_single_file(str(path), **options)
        else:
            source = str(path) if path.is_dir() else model
            pipe = StableDiffusionInpaintPipeline.from_pretrained(
                source, local_files_only=available, **options)
    except ModelUnavailableError:
        raise
    except (OSError, ValueError) as e:
        if not available:
            raise ModelUnavailableError(why) from None
        raise ModelUnavailableError(f"could not load diffusion model {model}: {str(e).splitlines()[0]}") from None
    if scheduler:
        import diffusers

        if not hasattr(diffusers, scheduler):
            raise ConfigError(f"unknown scheduler {scheduler!r} (a diffusers class name, e.g. DDIMScheduler)")
        pipe.scheduler = getattr(diffusers, scheduler).from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def context_crop(image: np.ndarray, region, context_px: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The region plus ``context_px`` on every side, reflect-padded outside the image.

    Returns the crop and the region's box inside it."""
    x1, y1, x2, y2 = region
    h, w = image.shape[:2]
    cx1, cy1, cx2, cy2 = x1 - context_px, y1 - context_px, x2 + context_px, y2 + context_px
    pad = ((max(0, -cy1), max(0, cy2 - h)), (max(0, -cx1), max(0, cx2 - w)), (0, 0))
    crop = image[max(0, cy1) : min(h, cy2), max(0, cx1) : min(w, cx2)]
    if any(p for axis in pad for p in axis):
        crop = np.pad(crop, pad, mode="reflect" if min(crop.shape[:2]) > 1 else "edge")
    return crop, (context_px, context_px, context_px + x2 - x1, context_px + y2 - y1)


@dataclass(frozen=True)
class Inpainter:
    """Runs face jobs through the pipeline in batches, with the run's diffusion parameters."""

    model: str = DEFAULT_MODEL
    num_inference_steps: int = PAPER["num_inference_steps"]
    guidance_scale: float = PAPER["guidance_scale"]
    strength: float = PAPER["strength"]
    prompt: str = PAPER["prompt"]
    negative_prompt: str = PAPER["negative_prompt"]
    scheduler: str | None = None
    crop_size: int = PAPER["crop_size"]
    context_px: int = PAPER["context_px"]
    batch_size: int = 4
    device: str | None = None
    dtype: str | None = None

    def validate(self) -> None:
        if self.crop_size % 8 or self.crop_size < 64:
            raise ConfigError(f"crop_size must be a multiple of 8 and >= 64, got {self.crop_size}")
        if not 0.0 < self.strength <= 1.0 or self.num_inference_steps < 1 or self.batch_size < 1:
            raise ConfigError("strength must be in (0, 1], num_inference_steps and batch_size >= 1")

    @property
    def pipeline(self):
        device = resolve_device(self.device)
        return load_pipeline(self.model, device, resolve_dtype(device, self.dtype), self.scheduler)

    def __call__(self, jobs: list[FaceJob]) -> list[np.ndarray]:
        """New pixels for each job's region, in the region's size."""
        out: list[np.ndarray] = []
        for start in range(0, len(jobs), self.batch_size):
            out += self._batch(jobs[start : start + self.batch_size])
        return out

    def _batch(self, jobs: list[FaceJob]) -> list[np.ndarray]:
        pipe, size = self.pipeline, self.crop_size
        crops, masks, boxes = [], [], []
        for job in jobs:
            crop, box = context_crop(job.image, job.region, self.context_px)
            mask = np.zeros(crop.shape[:2], dtype=np.uint8)
            mask[box[1] : box[3], box[0] : box[2]] = 255
            crops.append(Image.fromarray(crop).resize((size, size), Image.BICUBIC))
            masks.append(Image.fromarray(mask).resize((size, size), Image.NEAREST))
            boxes.append((crop.shape[1], crop.shape[0], box))
        generators = [torch.Generator(pipe.device).manual_seed(job.seed) for job in jobs]
        images = pipe(
            prompt=[self.prompt] * len(jobs),
            negative_prompt=[self.negative_prompt] * len(jobs) if self.guidance_scale > 1 else None,
            image=crops, mask_image=masks, height=size, width=size,
            num_inference_steps=self.num_inference_steps, guidance_scale=self.guidance_scale,
            strength=self.strength, generator=generators, output_type="np",
        ).images
        results = []
        for generated, (cw, ch, (bx1, by1, bx2, by2)) in zip(images, boxes):
            pixels = (np.clip(generated, 0, 1) * 255).round().astype(np.uint8)
            back = np.asarray(Image.fromarray(pixels).resize((cw, ch), Image.BICUBIC))
            results.append(back[by1:by2, bx1:bx2].copy())
        return results
