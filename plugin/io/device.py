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


def torch_threads() -> int:
    """The CPU threads torch uses in this process."""
    import torch

    return torch.get_num_threads()


def use_torch_threads(threads: int | None) -> None:
    """Run torch with ``threads`` CPU threads (None: as it is). A model's last bits depend on
    how its sums are split across threads, so a worker elsewhere (a Ray actor, which Ray starts
    with one thread per CPU it reserves) uses the count of the process that planned the run,
    and gives the same pixels and distances. None loads no torch: a worker without a torch
    model (dlib, the classic methods) stays light."""
    if not threads:
        return
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
