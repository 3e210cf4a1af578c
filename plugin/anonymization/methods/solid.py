"""Solid fill: the LDFA paper's "Crop" baseline, the face removed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldfa.plugin.anonymization.methods.base import Method
from ldfa.plugin.options import option


@dataclass(frozen=True)
class SolidParams:
    fill_color: tuple[int, int, int] = option((0, 0, 0), "solid: the fill colour (R G B)", ui=False)


def solid(image: np.ndarray, region, face_px: int, params: SolidParams) -> np.ndarray:
    """The region filled with ``fill_color``."""
    x1, y1, x2, y2 = region
    return np.broadcast_to(np.asarray(params.fill_color, dtype=np.uint8), (y2 - y1, x2 - x1, 3)).copy()


METHOD = Method("solid", "one fill colour", SolidParams, paint=solid)
