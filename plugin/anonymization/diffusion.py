"""LDFA: faces replaced by Stable Diffusion inpainting, batched across faces and images.

Every face is diffused, however small, as the paper does. Per face, as AUTOMATIC1111's "only
masked" inpainting cuts it: the face with its blend ring plus ``context_px`` of surroundings,
expanded to a square (the 1:1 aspect of the ``crop_size`` canvas, so nothing is stretched) and
moved inside the image where the image is large enough (reflect-padded where it is not), is
resized to ``crop_size``, inpainted inside the face's shape with the face's own seeded
generator, resized back, and returned for the face's pixels and ring. Seeds are per face, so a
batch of faces gives the same faces as one face per call, up to the last bit: batched
matrix products round differently (on this CPU about 1 % of pixels differ by one level). The pipeline is a real
``diffusers.StableDiffusionInpaintPipeline`` loaded once per process from a hub id, a local
folder or a single ``.safetensors`` file.

Controlled LDFA (``control``) runs ``StableDiffusionControlNetInpaintPipeline`` on the same
components, with one ControlNet per condition (diffusers' Multi-ControlNet when there are
several); the conditions are computed from the original face crop (``controls.py``). Identity
push-away (``push_away``) loads an IP-Adapter (diffusers' ``load_ip_adapter``) and gives each
face's original as the *negative* image embedding, on the unconditional branch of
classifier-free guidance, with the "no image" embedding on the conditional branch: guidance
then steers each face away from its original identity. Everything else (seeds, batches, the
out-of-memory fallback, the crop) is the same for all three.
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
from ldfa.plugin.anonymization.controls import control_image
from ldfa.plugin.errors import ConfigError, ModelUnavailableError
from ldfa.plugin.geometry.windows import square_crop, square_window
from ldfa.plugin.io.device import resolve_device
from ldfa.plugin.models.face_mesh import load_face_mesh


@dataclass(frozen=True)
class FaceJob:
    """One face to inpaint: the pixels it may change, its shape there, its generator seed."""

    image: np.ndarray  # display-orientation RGB of the whole image
    paste: tuple[int, int, int, int]  # x1, y1, x2, y2 (end-exclusive): the face and its ring
    shape: np.ndarray  # bool over ``paste``: the face itself, which the model inpaints
    seed: int
    source: np.ndarray | None = None  # the original image, when ``image`` is a previous version

    @property
    def original(self) -> np.ndarray:
        """The image whose face the conditions describe: the source, else ``image``."""
        return self.image if self.source is None else self.source

    @property
    def face_box(self) -> tuple[int, int, int, int]:
        """The face's own box (x1, y1, x2, y2, end-exclusive) in image pixels."""
        ys, xs = np.nonzero(self.shape)
        return (self.paste[0] + int(xs.min()), self.paste[1] + int(ys.min()),
                self.paste[0] + int(xs.max()) + 1, self.paste[1] + int(ys.max()) + 1)


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


def hub_source(spec: str, marker: str) -> tuple[str, str | None, bool, str]:
    """Where a ControlNet or IP-Adapter ``spec`` loads from: (hub id or local path, subfolder or
    None, whether it is there without a download, why not). A hub spec is ``org/name`` then,
    optionally, the path inside the repository; ``marker`` is the file that must be there
    (relative to that path)."""
    path = Path(spec).expanduser()
    if path.exists() or path.is_absolute() or spec.startswith((".", "~")):
        found = (path / marker).exists() if path.is_dir() else path.is_file()
        return str(path.absolute()), None, found, f"not found: {path}{'/' + marker if path.is_dir() else ''}"
    parts = spec.strip("/").split("/")
    repo, subfolder = "/".join(parts[:2]), "/".join(parts[2:]) or None
    from huggingface_hub import try_to_load_from_cache

    wanted = f"{subfolder}/{marker}" if subfolder else marker
    cached = isinstance(try_to_load_from_cache(repo, wanted), str)
    include = f" --include '{subfolder}/*'" if subfolder else ""
    return repo, subfolder, cached, (
        f"{spec} is not available offline: download it where the hub is reachable (`hf download "
        f"{repo}{include}`) or pass a local path")


def resolve_dtype(device: str, dtype: str | None) -> torch.dtype:
    """fp16 on CUDA, fp32 on CPU (bf16 was slower on the measured CPU) unless asked otherwise."""
    if dtype is None:
        return torch.float16 if device.startswith("cuda") else torch.float32
    return getattr(torch, dtype)  # one of config.DTYPES: the config checks it


def _out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says the device ran out of memory (torch's CUDA/CPU allocators)."""
    return isinstance(error, (MemoryError, torch.OutOfMemoryError)) or "out of memory" in str(error)


def _reason(error: BaseException) -> str:
    return f"diffusion could not run: {str(error).splitlines()[0][:120] or type(error).__name__}"


@functools.lru_cache(maxsize=2)
def load_pipeline(model: str, device: str, dtype: torch.dtype, scheduler: str | None = None,
                  controlnets: tuple[str, ...] = (), ip_adapter: str | None = None):
    """The pipeline, loaded once per (model, device, dtype, scheduler, ControlNets, IP-Adapter)
    and process: plain inpainting, or ControlNet inpainting on the same components, with the
    IP-Adapter loaded where given. Each variant loads its own components: an IP-Adapter changes
    the UNet it is loaded into."""
    for what, (source, _, available, why) in [
            *(("ControlNet", hub_source(spec, "config.json")) for spec in controlnets),
            *([("IP-Adapter", _ip_adapter_source(ip_adapter))] if ip_adapter else [])]:
        if not available and Path(source).is_absolute():  # a local path: nothing to download
            raise ModelUnavailableError(f"{what} {why}")  # before loading the rest
    pipe = _inpainting(model, dtype)
    with _quiet_hub():
        if controlnets:
            from diffusers import StableDiffusionControlNetInpaintPipeline

            nets = [_controlnet(spec, dtype) for spec in controlnets]
            pipe = StableDiffusionControlNetInpaintPipeline.from_pipe(
                pipe, controlnet=nets[0] if len(nets) == 1 else nets)
        if ip_adapter:
            _load_ip_adapter(pipe, ip_adapter)
    if scheduler:
        import diffusers

        if not hasattr(diffusers, scheduler):
            raise ConfigError(f"unknown scheduler {scheduler!r} (a diffusers class name, e.g. DDIMScheduler)")
        pipe.scheduler = getattr(diffusers, scheduler).from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _inpainting(model: str, dtype: torch.dtype):
    """The inpainting pipeline from a hub id, a diffusers folder or a single file."""
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
    return pipe


def _controlnet(spec: str, dtype: torch.dtype):
    """One ControlNet from a hub id (with its subfolder) or a local folder."""
    from diffusers import ControlNetModel

    source, subfolder, available, why = hub_source(spec, "config.json")
    try:
        return ControlNetModel.from_pretrained(source, subfolder=subfolder, dtype=dtype,
                                               local_files_only=available)
    except (OSError, ValueError) as e:
        if not available:
            raise ModelUnavailableError(f"ControlNet {why}") from None
        raise ModelUnavailableError(f"could not load ControlNet {spec}: {str(e).splitlines()[0]}") from None


def _ip_adapter_source(spec: str) -> tuple[str, str | None, bool, str]:
    """``hub_source`` of an IP-Adapter weight file: the folder or repository path holding it."""
    folder, _, weight_name = spec.rstrip("/").rpartition("/")
    source, subfolder, available, why = hub_source(folder or ".", weight_name)
    return source, subfolder, available, why.replace(folder, spec, 1)


def _load_ip_adapter(pipe, spec: str) -> None:
    """Load the IP-Adapter weight file ``spec`` and the image encoder beside it into ``pipe``."""
    from diffusers.models.embeddings import ImageProjection

    source, subfolder, available, why = _ip_adapter_source(spec)
    try:
        pipe.load_ip_adapter(source, subfolder=subfolder or "", weight_name=Path(spec).name,
                             local_files_only=available)
    except (OSError, ValueError) as e:
        if not available:
            raise ModelUnavailableError(f"IP-Adapter {why}") from None
        raise ModelUnavailableError(f"could not load IP-Adapter {spec}: {str(e).splitlines()[0]}") from None
    if not isinstance(pipe.unet.encoder_hid_proj.image_projection_layers[0], ImageProjection):
        raise ConfigError(f"IP-Adapter {spec} is not a plain (image-embedding) IP-Adapter, which push_away uses")


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


class Inpainter:
    """Runs face jobs through the pipeline in batches, with a run's diffusion settings."""

    def __init__(self, config: DiffusionConfig):
        self.config = config

    @property
    def pipeline(self):
        c = self.config
        device = resolve_device(c.device)
        if "face_mesh" in c.controls:
            load_face_mesh()  # with the pipeline: a missing model fails before any write
        return load_pipeline(c.model, device, resolve_dtype(device, c.dtype), c.scheduler,
                             c.controlnets if c.controls else (), c.ip_adapter if c.push_away else None)

    @property
    def batch_size(self) -> int:
        """Faces per call. diffusers takes one set of conditions per call where faces would need
        their own: Multi-ControlNet inpainting one face's control images, and IP-Adapter
        embeddings are shared by every prompt of a call (repeated per prompt, or read as more
        images of each). So several ControlNets and push-away go one face at a time (the same
        faces: seeds are per face)."""
        c = self.config
        return 1 if len(c.controls) > 1 or c.push_away else c.batch_size

    def __call__(self, jobs: list[FaceJob]) -> list[np.ndarray | str]:
        """New pixels for each job's paste region, in that region's size; for a face that
        cannot be diffused (out of memory even alone), the reason instead."""
        out: list[np.ndarray | str] = []
        for start in range(0, len(jobs), self.batch_size):
            batch = jobs[start : start + self.batch_size]
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
        crops, masks, places, conditions = [], [], [], [[] for _ in c.controls]
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
            if c.controls:  # from the original face, resized like the crop
                original = square_crop(job.original, left, top, side)
                original = np.asarray(Image.fromarray(original).resize((size, size), Image.BICUBIC))
                fx1, fy1, fx2, fy2 = job.face_box
                box = np.array([fx1 - left, fy1 - top, fx2 - left, fy2 - top]) * size / side
                for images, name in zip(conditions, c.controls):
                    images.append(Image.fromarray(control_image(name, original, box)))
        extra = {}
        if c.controls:
            # one ControlNet: a batch of images; several: one image each (one face per call)
            extra["control_image"] = conditions[0] if len(conditions) == 1 else [i[0] for i in conditions]
            extra["controlnet_conditioning_scale"] = ([c.controlnet_scale] * len(conditions)
                                                      if len(conditions) > 1 else c.controlnet_scale)
        if c.push_away:
            pipe.set_ip_adapter_scale(c.ip_adapter_scale)
            extra["ip_adapter_image_embeds"] = [_away_from(pipe, jobs)]
        generators = [torch.Generator(pipe.device).manual_seed(job.seed) for job in jobs]
        images = pipe(
            prompt=[c.prompt] * len(jobs),
            negative_prompt=[c.negative_prompt] * len(jobs) if c.guidance_scale > 1 else None,
            image=crops, mask_image=masks, height=size, width=size,
            num_inference_steps=c.num_inference_steps, guidance_scale=c.guidance_scale,
            strength=c.strength, generator=generators, output_type="np", **extra,
        ).images
        results = []
        for generated, (side, bx1, by1, bx2, by2) in zip(images, places):
            pixels = (np.clip(generated, 0, 1) * 255).round().astype(np.uint8)
            back = np.asarray(Image.fromarray(pixels).resize((side, side), Image.BICUBIC))
            results.append(back[by1:by2, bx1:bx2].copy())
        return results


def _away_from(pipe, jobs: list[FaceJob]) -> torch.Tensor:
    """IP-Adapter image embeddings of one face for classifier-free guidance, (2, 1, dim): its
    original first (the negative, unconditional branch), then the "no image" embedding (the
    conditional branch), as diffusers reads precomputed ones."""
    [job] = jobs  # one face per call (``Inpainter.batch_size``)
    x1, y1, x2, y2 = job.face_box
    with torch.no_grad():
        original, no_image = pipe.encode_image([Image.fromarray(job.original[y1:y2, x1:x2])],
                                               pipe.device, 1, False)
    return torch.cat([original, no_image])[:, None]
