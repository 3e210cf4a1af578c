"""What a method module registers (``methods.METHODS`` finds them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """One anonymization method. It makes new pixels either per face (``paint``) or batched
    across the faces of many images (``load``: diffusion), never both."""

    name: str
    help: str
    # Frozen dataclass of ``option`` fields, or None; the config holds them as its own fields,
    # so ``paint`` gets the run's config (or an instance of ``params``) as its parameters.
    params: type | None = None
    # Per face: (display RGB image, the face's paste region x1, y1, x2, y2, the face's shorter
    # side in px, params) -> the region's new pixels (H x W x 3 uint8).
    paint: Callable | None = None
    # Batched: (config) -> a callable from ``FaceJob`` s to new region pixels, or a reason per
    # face it could not run on; built once per worker (it loads the model).
    load: Callable | None = None
    # The kinds of region it may replace: a face, a licence plate (``schema.PLATES``)
    kinds: tuple[str, ...] = ("face", "plate")
    # ``paint`` draws at random: its params' ``seed`` is then the face's own seed (``FacePlan.seed``:
    # one per box or track, another for each new attempt), not the run's
    seeded: bool = False

    @property
    def batched(self) -> bool:
        return self.load is not None
