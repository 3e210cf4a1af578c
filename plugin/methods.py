"""Classic face anonymization baselines: Gaussian blur, pixelation, solid fill.

Each takes the display-orientation RGB image and one face's pixel region and returns the new
pixels of that region; the caller pastes them through the face mask only. They are the
baselines of the LDFA paper's comparison and the fallback for faces too small for diffusion.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter


def gauss(image: np.ndarray, region, blur_sigma_frac: float = 0.125) -> np.ndarray:
    """Gaussian blur with sigma = ``blur_sigma_frac`` x the face's shorter side, computed with
    the surrounding pixels as context so the region's edges blur like its centre."""
    x1, y1, x2, y2 = region
    sigma = max(1.0, blur_sigma_frac * min(x2 - x1, y2 - y1))
    margin = math.ceil(3 * sigma)
    h, w = image.shape[:2]
    cx1, cy1, cx2, cy2 = max(0, x1 - margin), max(0, y1 - margin), min(w, x2 + margin), min(h, y2 + margin)
    context = Image.fromarray(image[cy1:cy2, cx1:cx2]).filter(ImageFilter.GaussianBlur(sigma))
    return np.asarray(context)[y1 - cy1 : y2 - cy1, x1 - cx1 : x2 - cx1].copy()


def pixelate(image: np.ndarray, region, pixel_blocks: int = 8) -> np.ndarray:
    """Mosaic: ``pixel_blocks`` square blocks across the face's shorter side, each the mean
    colour of its pixels; blocks are anchored at the region's top-left corner."""
    x1, y1, x2, y2 = region
    crop = image[y1:y2, x1:x2].astype(np.float32)
    h, w = crop.shape[:2]
    block = max(1, math.ceil(min(h, w) / pixel_blocks))
    out = np.empty_like(crop)
    for by in range(0, h, block):
        for bx in range(0, w, block):
            cell = crop[by : by + block, bx : bx + block]
            out[by : by + block, bx : bx + block] = cell.reshape(-1, 3).mean(axis=0)
    return np.rint(out).astype(np.uint8)


def solid(image: np.ndarray, region, fill_color: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """The region filled with one colour (the paper's "Crop" baseline: the face removed)."""
    x1, y1, x2, y2 = region
    return np.broadcast_to(np.asarray(fill_color, dtype=np.uint8), (y2 - y1, x2 - x1, 3)).copy()


CLASSIC = {"gauss": gauss, "pixelate": pixelate, "solid": solid}
METHODS = ("ldfa", *CLASSIC)  # ldfa: latent-diffusion inpainting (plugin/diffusion.py)
