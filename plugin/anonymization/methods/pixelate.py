"""Pixelation: a baseline of the LDFA paper's comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ldfa.plugin.anonymization.methods.base import Method
from ldfa.plugin.options import option


@dataclass(frozen=True)
class PixelateParams:
    pixel_blocks: int = option(8, "pixelate: blocks across the face's shorter side", low=1)
    pixel_block_min_px: int = option(8, "pixelate: each block at least this many pixels wide "
                                     "(the LDFA paper's baseline)", low=1)


def pixelate(image: np.ndarray, region, face_px: int, params: PixelateParams) -> np.ndarray:
    """Mosaic of square blocks, ``pixel_blocks`` across the face's shorter side ``face_px`` but
    at least ``pixel_block_min_px`` wide (1-px blocks would leave a 10-px face as it was), each
    the mean colour of its pixels; blocks are anchored at the region's top-left corner."""
    x1, y1, x2, y2 = region
    crop = image[y1:y2, x1:x2].astype(np.float32)
    h, w = crop.shape[:2]
    block = max(1, params.pixel_block_min_px, math.ceil(face_px / params.pixel_blocks))
    out = np.empty_like(crop)
    for by in range(0, h, block):
        for bx in range(0, w, block):
            cell = crop[by : by + block, bx : bx + block]
            out[by : by + block, bx : bx + block] = cell.reshape(-1, 3).mean(axis=0)
    return np.rint(out).astype(np.uint8)


METHOD = Method("pixelate", "mosaic of square blocks", PixelateParams, paint=pixelate)
