"""Every parameter of an anonymization run: the config, the paper's preset, the checks.

Free of torch, diffusers and FiftyOne, so the command line and the App's forms read defaults,
choices and presets without loading a model; the engine is ``anonymize.py`` and the diffusion
side ``diffusion.py``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

from ldfa.plugin.errors import ConfigError
from ldfa.plugin.methods import METHODS

DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-inpainting"

# The published LDFA procedure (Klemp et al., 2023): AUTOMATIC1111 inpainting, "only masked"
# with 32 px padding at 512x512, no prompt, CFG 1, 50 steps, denoising 0.75, mask blur 4, Euler.
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
    "scheduler": "EulerDiscreteScheduler",
    "min_face_px": 0,
}
PRESETS = {"paper": PAPER}
# Config fields that change no output pixel: a rerun that changes only these resumes.
_NOT_IN_DIGEST = ("batch_size", "output_dir", "link_unchanged")


@dataclass(frozen=True)
class AnonymizationConfig:
    """Every parameter of an anonymization run; ``to_dict`` is what the run record stores."""

    method: str = "ldfa"
    seed: int = 0
    mask_grow: float = 1.0  # face box scaled around its centre before masking
    mask_ellipse: bool = False  # the ellipse through the box's corners instead of the box
    mask_blur_px: float = 4  # the new face fades into the original over this many px outside it
    min_face_px: int = 0  # faces with a shorter side below this get `fallback`; 0: none do
    fallback: str = "pixelate"  # where `method` cannot run (or below `min_face_px`)
    blur_sigma_frac: float = 0.125  # gauss: sigma as a fraction of the face's shorter side ...
    blur_sigma_min_px: float = 3.0  # ... and at least this (the LDFA paper's baseline)
    pixel_blocks: int = 8  # pixelate: blocks across the face's shorter side ...
    pixel_block_min_px: int = 8  # ... each at least this wide (the LDFA paper's baseline)
    fill_color: tuple[int, int, int] = (0, 0, 0)  # solid
    jpeg_quality: int = 95
    link_unchanged: bool = False  # hard-link (not copy) images without faces
    # ldfa (diffusion) parameters; defaults are the paper's procedure
    model: str = DEFAULT_MODEL
    num_inference_steps: int = 50
    guidance_scale: float = 1.0
    strength: float = 0.75
    prompt: str = ""
    negative_prompt: str = ""
    scheduler: str | None = PAPER["scheduler"]  # a diffusers class name; None: the model's own
    crop_size: int = 512
    context_px: int = 32
    batch_size: int = 4
    device: str | None = None
    dtype: str | None = None

    @classmethod
    def build(cls, preset: str | None = None, **params) -> "AnonymizationConfig":
        """A validated config: ``preset`` values first, then explicit ``params`` over them."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ConfigError(f"unknown anonymization parameter(s): {', '.join(unknown)}")
        if preset is not None and preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        values = {**(PRESETS[preset] if preset else {}), **params}
        if "fill_color" in values:
            values["fill_color"] = tuple(int(c) for c in values["fill_color"])
        config = cls(**values)
        for name, value in (("method", config.method), ("fallback", config.fallback)):
            if value not in METHODS:
                raise ConfigError(f"unknown {name} {value!r}; choose one of {', '.join(METHODS)}")
        if config.mask_grow <= 0 or config.min_face_px < 0 or not 1 <= config.jpeg_quality <= 100:
            raise ConfigError("mask_grow must be > 0, min_face_px >= 0, jpeg_quality in 1..100")
        if config.mask_blur_px < 0 or config.blur_sigma_min_px < 0 or config.pixel_block_min_px < 1:
            raise ConfigError("mask_blur_px and blur_sigma_min_px must be >= 0, pixel_block_min_px >= 1")
        if config.crop_size % 8 or config.crop_size < 64:
            raise ConfigError(f"crop_size must be a multiple of 8 and >= 64, got {config.crop_size}")
        if not 0.0 < config.strength <= 1.0 or config.num_inference_steps < 1 or config.batch_size < 1:
            raise ConfigError("strength must be in (0, 1], num_inference_steps and batch_size >= 1")
        return config

    @property
    def uses_diffusion(self) -> bool:
        return "ldfa" in (self.method, self.fallback)

    @property
    def inpainter(self):
        """The diffusion side of this config (loads torch and diffusers when first asked)."""
        from ldfa.plugin.diffusion import Inpainter

        names = {f.name for f in fields(Inpainter)}
        return Inpainter(**{k: v for k, v in asdict(self).items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)

    def digest(self) -> str:
        """Short hash of every field that changes output pixels: a rerun resumes only when equal."""
        kept = {k: v for k, v in asdict(self).items() if k not in _NOT_IN_DIGEST}
        text = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]
