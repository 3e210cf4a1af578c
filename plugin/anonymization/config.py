"""Every parameter of an anonymization run: the config, its diffusion part, the paper's preset.

Free of torch, diffusers and FiftyOne, so the command line and the App's forms read defaults,
choices and presets without loading a model; the engine is ``anonymize.py`` and the diffusion
side ``diffusion.py``. Each field is declared once (``ldfa.plugin.options``): the CLI's
options, the App's form fields and the checks all come from these declarations.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass

from ldfa.plugin.anonymization.methods import DEFAULT_METHOD, METHODS
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.options import check, option

DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-inpainting"
DTYPES = ("float16", "float32", "bfloat16")
# Controlled LDFA: the public SD-1.5 ControlNet of each condition (``controls.py`` computes the
# conditions): a hub id, then the subfolder where the weights sit in a larger repository.
DEFAULT_CONTROLNETS = {
    "face_mesh": "CrucibleAI/ControlNetMediaPipeFace/diffusion_sd15",
    "canny": "lllyasviel/control_v11p_sd15_canny",
}
CONTROLS = tuple(DEFAULT_CONTROLNETS)
# Identity push-away: the public SD-1.5 IP-Adapter, a hub id then the weight file's path in it;
# its CLIP image encoder is the ``image_encoder`` folder beside the file.
DEFAULT_IP_ADAPTER = "h94/IP-Adapter/models/ip-adapter_sd15.safetensors"

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
# CAMOUFLaGE-style (Piano et al., 2024), with the standard diffusers components: the paper's
# LDFA procedure, guided by the face-mesh ControlNet (pose, gaze, eyes, mouth) and pushed away
# from the original identity (the original face as a negative IP-Adapter image condition,
# which needs classifier-free guidance). The guidance scale is a starting point, not tuned:
# no real weights could be run where ldfa was built.
CAMOUFLAGE = {**PAPER, "control": "face_mesh", "push_away": True, "guidance_scale": 5.0}
PRESETS = {"paper": PAPER, "camouflage": CAMOUFLAGE}
PRESETS_HELP = ("paper: the published LDFA procedure; camouflage: the paper's, with face-mesh "
                "ControlNet and identity push-away")
# Fields that change no output pixel: a rerun that changes only these resumes.
_NOT_IN_DIGEST = ("batch_size", "link_unchanged")
# Fields added after runs were recorded (controlled LDFA's, strip_metadata): left out of the
# digest at their defaults, so runs recorded before they existed still resume.
_DIGEST_UNLESS_DEFAULT = ("control", "controlnet", "controlnet_scale", "push_away", "ip_adapter",
                          "ip_adapter_scale", "strip_metadata", "video_codec", "video_quality",
                          "video_keyframes", "plate_method", "plate_grow")
VIDEO_CODECS = ("h264", "lossless")


@dataclass(frozen=True)
class DiffusionConfig:
    """The ``ldfa`` method's diffusion settings; the defaults are the paper's procedure."""

    model: str = option(DEFAULT_MODEL, "diffusion model: hub id, local diffusers folder or a "
                        "single .safetensors file")
    num_inference_steps: int = option(PAPER["num_inference_steps"], "denoising steps", low=1,
                                      cli="--steps")
    strength: float = option(PAPER["strength"], "how much noise the face crop starts from "
                             "(1: all noise)", low=0.01, high=1.0)
    guidance_scale: float = option(PAPER["guidance_scale"], "classifier-free guidance; 1 means "
                                   "no unconditional pass", low=0.0)
    prompt: str = option(PAPER["prompt"], "text prompt (the paper's: none)")
    negative_prompt: str = option(PAPER["negative_prompt"], "negative prompt, used only with "
                                  "guidance above 1")
    scheduler: str | None = option(PAPER["scheduler"], "a diffusers scheduler class name "
                                   "(Euler: the sampler the paper ran); empty: the model's own")
    crop_size: int = option(PAPER["crop_size"], "the square canvas each face crop is resized to "
                            "(a multiple of 8)", low=64)
    context_px: int = option(PAPER["context_px"], "pixels of surroundings around each face (and "
                             "its blend ring) in its crop", low=0)
    batch_size: int = option(4, "face crops per diffusion call, across faces and images", low=1)
    control: str = option("", "conditions computed from each original face crop, comma-separated: "
                          "face_mesh (MediaPipe's face mesh: pose, gaze, eyes, mouth), canny (edges); "
                          "empty: plain LDFA")
    controlnet: str = option("", "the ControlNet of each --control condition, comma-separated in the "
                             "same order: hub id (then /subfolder) or local folder (default: the "
                             "public SD-1.5 one of each)")
    controlnet_scale: float = option(1.0, "weight of the ControlNets' guidance", low=0.0)
    push_away: bool = option(False, "steer away from the original identity: the original face as a "
                             "negative IP-Adapter image condition (needs guidance_scale above 1)")
    ip_adapter: str = option(DEFAULT_IP_ADAPTER, "push_away: IP-Adapter weights, a hub id then the "
                             "file's path in it, or a local file; its image encoder is the "
                             "image_encoder folder beside the file")
    ip_adapter_scale: float = option(1.0, "push_away: weight of the IP-Adapter's image condition",
                                     low=0.0)
    device: str | None = option(None, "cuda or cpu (default: cuda when present)", ui=False)
    dtype: str | None = option(None, "float16, float32 or bfloat16 (default: float16 on CUDA, "
                               "float32 on CPU)", choices=DTYPES, ui=False)

    @property
    def controls(self) -> tuple[str, ...]:
        return _items(self.control)

    @property
    def controlnets(self) -> tuple[str, ...]:
        """The ControlNet of each condition: the ones given, else the public defaults."""
        return _items(self.controlnet) or tuple(DEFAULT_CONTROLNETS[c] for c in self.controls)

    def validate(self) -> None:
        """Checks across fields (``check`` does each field alone)."""
        if self.crop_size % 8:
            raise ConfigError(f"crop_size must be a multiple of 8, got {self.crop_size}")
        unknown = [c for c in self.controls if c not in CONTROLS]
        if unknown:
            raise ConfigError(f"unknown control {unknown[0]!r}; choose from {', '.join(CONTROLS)}")
        if len(set(self.controls)) < len(self.controls):
            raise ConfigError(f"control {self.control!r} names a condition twice")
        if self.controlnet and len(_items(self.controlnet)) != len(self.controls):
            raise ConfigError(f"give one ControlNet per control: {len(self.controls)} control(s) "
                              f"({self.control or 'none'}), {len(_items(self.controlnet))} ControlNet(s)")
        if self.push_away and self.guidance_scale <= 1:
            raise ConfigError("push_away needs guidance_scale above 1: the original face steers the "
                              f"unconditional branch of classifier-free guidance (got {self.guidance_scale})")


def _digested(config) -> dict:
    """The fields of one config level that go into its digest (each default read from its one
    declaration)."""
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    return {k: v for k, v in asdict(config).items() if k not in _NOT_IN_DIGEST
            and (k not in _DIGEST_UNLESS_DEFAULT or v != defaults[k])}


def _items(text: str) -> tuple[str, ...]:
    """The items of a comma-separated option."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _joined(value) -> str:
    """A list option, given as a list (SDK: ``control=["face_mesh"]``) or as text, in one
    spelling: its items joined by commas."""
    return ",".join(_items(",".join(map(str, value)) if isinstance(value, (list, tuple)) else value))


FACE_METHODS = [m for m in METHODS.values() if "face" in m.kinds]
# Plates take a method that paints each plate alone: a diffusion method's plates get ``plate``
PLATE_METHODS = tuple(m.name for m in METHODS.values() if "plate" in m.kinds and not m.batched)
SYNTHETIC_PLATE = "plate"
# Detected plate boxes are tight: scaled by this around their centre, measured in bench/plates.py
PLATE_GROW = 1.3


@dataclass(frozen=True)
class _RunOptions:
    """The options of every run, whatever its method: ``AnonymizationConfig``'s first fields."""

    method: str = option(DEFAULT_METHOD, ", ".join(f"{m.name} ({m.help})" for m in FACE_METHODS),
                         choices=tuple(m.name for m in FACE_METHODS))
    seed: int = option(0, "run seed; each face's seed is a hash of it, the image and the face")
    mask_grow: float = option(1.0, "face boxes are scaled by this around their centre before "
                              "masking", low=0.1)
    mask_ellipse: bool = option(False, "the ellipse through each box's corners instead of the "
                                "box (it holds the whole box)", cli="--ellipse")
    mask_blur_px: float = option(PAPER["mask_blur_px"], "the new face fades into the original "
                                 "over this many pixels outside it", low=0)
    min_face_px: int = option(0, "faces with a shorter side below this get the fallback "
                              "(0: every face gets the method, as the paper does)", low=0)
    fallback: str = option("pixelate", "method where the method cannot run (a face diffusion "
                           "runs out of memory on) or below min_face_px",
                           choices=tuple(m.name for m in FACE_METHODS))


# Each method's own parameters, declared in its module (``methods/``), are fields of the config
# (``class C(B, A)`` lists A's fields before B's: run options, then the methods' by name).
_METHOD_PARAMS = tuple(m.params for m in METHODS.values() if m.params)


@dataclass(frozen=True)
class AnonymizationConfig(*reversed(_METHOD_PARAMS), _RunOptions):
    """Every parameter of an anonymization run; ``to_dict`` is what the run record stores."""

    jpeg_quality: int = option(95, "quality of re-encoded JPEGs", low=1, high=100)
    link_unchanged: bool = option(False, "hard-link (not copy) images without faces into the "
                                  "output folder")
    strip_metadata: bool = option(False, "written images keep no EXIF but their orientation "
                                  "(default: camera, time and GPS stay; thumbnails, previews, "
                                  "XMP and face regions never do)")
    video_codec: str = option("h264", "videos: h264 (plays in browsers and the App) or lossless "
                              "(FFV1 in .mkv: every pixel outside the faces kept exactly)",
                              choices=VIDEO_CODECS)
    video_quality: int = option(18, "videos: H.264's constant rate factor (lower: closer to the "
                                "source, larger files; 18 looks lossless)", low=0, high=51)
    video_keyframes: int = option(1, "videos, diffusion only (classic methods ignore it): diffuse a "
                                  "track's face every this many frames and carry it to the frames "
                                  "between, aligned on its landmarks and colour-matched; a face without "
                                  "landmarks or poorly aligned is diffused itself (1: every frame)", low=1)
    plate_method: str = option("", "licence plates: " + ", ".join(PLATE_METHODS) + " (default: the "
                               "run's method, or plate when it diffuses)", choices=("", *PLATE_METHODS))
    plate_grow: float = option(PLATE_GROW, "licence plates: boxes are scaled by this around their "
                               "centre before masking (detected boxes are tight)", low=1.0)
    diffusion: DiffusionConfig = dataclasses.field(default_factory=DiffusionConfig)

    @classmethod
    def build(cls, preset: str | None = None, **params) -> "AnonymizationConfig":
        """A validated config: ``preset`` values first, then explicit ``params`` over them.

        ``params`` are any field of this config or of its ``DiffusionConfig``, by name (a
        recorded run's nested ``diffusion`` dict is read too)."""
        if preset is not None and preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        values = {**(PRESETS[preset] if preset else {}), **params}
        values.update(values.pop("diffusion", None) or {})
        own = {f.name for f in dataclasses.fields(cls)} - {"diffusion"}
        nested = {f.name for f in dataclasses.fields(DiffusionConfig)}
        unknown = sorted(set(values) - own - nested)
        if unknown:
            raise ConfigError(f"unknown anonymization parameter(s): {', '.join(unknown)}")
        if "fill_color" in values:
            values["fill_color"] = tuple(int(c) for c in values["fill_color"])
        for name in ("control", "controlnet"):
            if name in values:
                values[name] = _joined(values[name])
        config = cls(**{k: v for k, v in values.items() if k in own},
                     diffusion=DiffusionConfig(**{k: v for k, v in values.items() if k in nested}))
        check(config)
        check(config.diffusion)
        config.diffusion.validate()
        return config

    @property
    def uses_diffusion(self) -> bool:
        return any(METHODS[m].batched for m in (self.method, self.fallback))

    @property
    def plates_method(self) -> str:
        """The method the run's licence plates get."""
        if self.plate_method:
            return self.plate_method
        return self.method if self.method in PLATE_METHODS else SYNTHETIC_PLATE

    @property
    def conditioned(self) -> bool:
        """Whether diffusion is conditioned on the original faces (control, push-away)."""
        return self.uses_diffusion and bool(self.diffusion.controls or self.diffusion.push_away)

    def to_dict(self) -> dict:
        return asdict(self)

    def digest(self) -> str:
        """Short hash of every field that changes output pixels: a rerun resumes only when equal."""
        kept = {**_digested(self), "diffusion": _digested(self.diffusion)}
        text = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]
