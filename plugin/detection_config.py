"""What decides which faces a detection run finds: the config, its defaults and its checks.

Free of torch and FiftyOne, so the command line and the App's forms read defaults and choices
without loading a model (``ldfa --help`` stays instant); the detectors live in ``detectors.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ldfa.plugin.errors import ConfigError

BACKEND_NAMES = ("retinaface", "mtcnn", "centerface")  # ldfa.plugin.detectors.BACKENDS
DEFAULT_BACKEND = "centerface"


def resolve_device(device: str | None) -> str:
    """None means CUDA when present, else CPU."""
    import torch  # here, not at the top: the CLI reads this module's defaults for --help

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu")
    return device



@dataclass(frozen=True)
class DetectorConfig:
    """Everything that decides which faces a detection run finds."""

    detector: str = DEFAULT_BACKEND
    confidence: float = 0.5  # full-frame faces scoring at least this are kept as found
    candidate_confidence: float = 0.1  # weaker full-frame candidates, down to this, get a zoom pass
    zoom: float = 2.0  # magnification of the zoom pass; 1 turns it off
    zoom_confidence: float = 0.2  # faces the zoom pass finds scoring at least this are kept
    min_face_px: int = 8  # faces with a shorter side below this are kept and marked `small`
    max_side: int = 2048  # longer frames are downscaled to this for the full-frame pass
    batch_size: int | None = None  # None: 8 on CUDA, 1 on CPU (batching only costs memory there)
    device: str | None = None

    def validate(self) -> "DetectorConfig":
        if self.detector not in BACKEND_NAMES:
            raise ConfigError(f"unknown detector {self.detector!r}; choose one of {', '.join(BACKEND_NAMES)}")
        for name in ("confidence", "candidate_confidence", "zoom_confidence"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if not 1.0 <= self.zoom <= 8.0:
            raise ConfigError(f"zoom must be between 1 (off) and 8, got {self.zoom}")
        if self.min_face_px < 0 or self.max_side < 32 or (self.batch_size or 1) < 1:
            raise ConfigError("min_face_px must be >= 0, max_side >= 32 and batch_size >= 1")
        device = resolve_device(self.device)
        batch_size = self.batch_size or (8 if device.startswith("cuda") else 1)
        return replace(self, device=device, batch_size=batch_size)

    @property
    def zooms(self) -> bool:
        return self.zoom > 1.0
