"""Which device a model runs on: CUDA when present, else the CPU; a request the machine cannot
honour is a clear error, not a crash deep inside a model."""

from __future__ import annotations

from ldfa.plugin.errors import ConfigError


def resolve_device(device: str | None) -> str:
    """None means CUDA when present, else CPU."""
    import torch  # here, not at the top: config modules import this for the instant --help

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu")
    return device
