"""LDFA: faces replaced by Stable Diffusion inpainting, batched across faces and images.

Every face is diffused, however small, as the paper does. Per face, as AUTOMATIC1111's "only
masked" inpainting cuts it: the face with its blend ring plus ``context_px`` of surroundings,
expanded to a square (the 1:1 aspect of the ``crop_size`` canvas, so nothing is stretched) and
moved inside the image where the image is large enough (reflect-padded where it is not), is
resized to ``crop_size``, inpainted inside the face's shape with the face's own seeded
generator, resized back, and returned for the face's pixels and ring. Seeds are per face, so a
batch of faces gives the same faces as one face per call. The pipeline is a real
``diffusers.StableDiffusionInpaintPipeline`` loaded once per process from a hub id, a local
folder or a single ``.safetensors`` file.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ldfa.plugin.anonymization.config import DiffusionConfig
from ldfa.plugin.errors import ConfigError, ModelUnavailableError
from ldfa.plugin.io.device import resolve_device
from ldfa.plugin.io.images import square_crop


@dataclass(frozen=True)
class FaceJob:
    """One face to inpaint: the pixels it may change, its shape there, its generator seed."""

    image: np.ndarray  # display-orientation RGB of the whole image
    paste: tuple[int, int, int, int]  # x1, y1, x2, y2 (end-exclusive): the face and its ring
    shape: np.ndarray  # bool over ``paste``: the face itself, which the model inpaints
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


def _out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says the device ran out of memory (torch's CUDA/CPU allocators)."""
    return isinstance(error, (MemoryError, torch.OutOfMemoryError)) or "out of memory" in str(error)


def _reason(error: BaseException) -> str:
    return f"diffusion could not run: {str(error).splitlines()[0][:120] or type(error).__name__}"


@functools.lru_cache(maxsize=2)
def load_pipeline(model: str, device: str, dtype: torch.dtype, scheduler: str | None = None):
    """The inpainting pipeline, loaded once per (model, device, dtype, scheduler) and process."""
    from diffusers import StableDiffusionInpaintPipeline

    available, why = model_available(model)
    path = Path(model).expanduser()
    if path.suffix == ".safetensors" and not available:
        raise ModelUnavailableError(f"diffusion model file not found: {path}")
    options = {"dtype": dtype, "safety_checker": None, "requires_safety_checker": False}
    try:
        with _quiet_hub():
            if path.suffix == ".safetensors":
                pipe = StableDiffusionInpaintPipeline.from_single_file(str(path), **options)
            else:
                source = str(path) if path.is_dir() else model
                pipe = StableDiffusionInpaintPipeline.from_pretrained(
                    source, local_files_only=available, **options)
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


@contextlib.contextmanager
def _quiet_hub():
    """Only errors from the hub's libraries while a model loads: offline, their "Couldn't
    connect to the Hub" warnings would bury the one line that says what to do."""
    loggers = [logging.getLogger(name) for name in ("diffusers", "huggingface_hub", "transformers")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def square_window(paste, context_px: int, width: int, height: int) -> tuple[int, int, int]:
    """(left, top, side) of the square crop around ``paste`` plus ``context_px`` on every side:
    centred on it, then moved inside the image along each axis where the image is large
    enough (AUTOMATIC1111's "only masked" crop for a 1:1 canvas)."""
    x1, y1, x2, y2 = paste
    side = max(x2 - x1, y2 - y1) + 2 * context_px
    start = []
    for low, high, extent in ((x1, x2, width), (y1, y2, height)):
        edge = round((low + high - side) / 2)
        start.append(min(max(edge, 0), extent - side) if side <= extent else edge)
    return start[0], start[1], side


class Inpainter:
    """Runs face jobs through the pipeline in batches, with a run's diffusion settings."""

    def __init__(self, config: DiffusionConfig):
        self.config = config

    @property
    def pipeline(self):
        c = self.config
        device = resolve_device(c.device)
        return load_pipeline(c.model, device, resolve_dtype(device, c.dtype), c.scheduler)

    def __call__(self, jobs: list[FaceJob]) -> list[np.ndarray | str]:
        """New pixels for each job's paste region, in that region's size; for a face that
        cannot be diffused (out of memory even alone), the reason instead."""
        out: list[np.ndarray | str] = []
        for start in range(0, len(jobs), self.config.batch_size):
            batch = jobs[start : start + self.config.batch_size]
            try:
                out += self._batch(batch)
            except (RuntimeError, MemoryError) as e:
                if not _out_of_memory(e):
                    raise
                # a smaller batch may fit; a single face that does not is a fallback
                out += [self._alone(job) for job in batch] if len(batch) > 1 else [_reason(e)]
        return out

    def _alone(self, job: FaceJob) -> np.ndarray | str:
        try:
            return self._batch([job])[0]
        except (RuntimeError, MemoryError) as e:
            if not _out_of_memory(e):
                raise
            return _reason(e)

    def _batch(self, jobs: list[FaceJob]) -> list[np.ndarray]:
        c = self.config
        pipe, size = self.pipeline, c.crop_size
        crops, masks, places = [], [], []
        for job in jobs:
            height, width = job.image.shape[:2]
            left, top, side = square_window(job.paste, c.context_px, width, height)
            x1, y1, x2, y2 = job.paste
            mask = np.zeros((side, side), dtype=np.uint8)
            mask[y1 - top : y2 - top, x1 - left : x2 - left] = job.shape * 255
            crop = square_crop(job.image, left, top, side)
            crops.append(Image.fromarray(crop).resize((size, size), Image.BICUBIC))
            masks.append(Image.fromarray(mask).resize((size, size), Image.NEAREST))
            places.append((side, x1 - left, y1 - top, x2 - left, y2 - top))
        generators = [torch.Generator(pipe.device).manual_seed(job.seed) for job in jobs]
        images = pipe(
            prompt=[c.prompt] * len(jobs),
            negative_prompt=[c.negative_prompt] * len(jobs) if c.guidance_scale > 1 else None,
            image=crops, mask_image=masks, height=size, width=size,
            num_inference_steps=c.num_inference_steps, guidance_scale=c.guidance_scale,
            strength=c.strength, generator=generators, output_type="np",
        ).images
        results = []
        for generated, (side, bx1, by1, bx2, by2) in zip(images, places):
            pixels = (np.clip(generated, 0, 1) * 255).round().astype(np.uint8)
            back = np.asarray(Image.fromarray(pixels).resize((side, side), Image.BICUBIC))
            results.append(back[by1:by2, bx1:bx2].copy())
        return results
