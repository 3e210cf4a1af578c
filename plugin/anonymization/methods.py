"""Classic face anonymization baselines: Gaussian blur, pixelation, solid fill.

Each takes the display-orientation RGB image and a pixel region (the face's box grown by the
blend ring) and returns the new pixels of that region; the caller pastes them through the face's
blend weights. They are the baselines of the LDFA paper's comparison. Strengths are relative to
the face but never below the paper's absolute ones (8-px blocks, Gaussian sigma 3 px): relative
strength alone gives a 10-px face 1-px blocks, which leave it exactly as it was.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter


def gauss(image: np.ndarray, region, face_px: int, blur_sigma_frac: float = 0.125,
          blur_sigma_min_px: float = 3.0) -> np.ndarray:
    """Gaussian blur with sigma = ``blur_sigma_frac`` x the face's shorter side ``face_px``, at
    least ``blur_sigma_min_px``, computed with the surrounding pixels as context so the
    region's edges blur like its centre."""
    x1, y1, x2, y2 = region
    sigma = max(blur_sigma_min_px, blur_sigma_frac * face_px)
    margin = math.ceil(3 * sigma)
    h, w = image.shape[:2]
    cx1, cy1, cx2, cy2 = max(0, x1 - margin), max(0, y1 - margin), min(w, x2 + margin), min(h, y2 + margin)
    context = Image.fromarray(image[cy1:cy2, cx1:cx2]).filter(ImageFilter.GaussianBlur(sigma))
    return np.asarray(context)[y1 - cy1 : y2 - cy1, x1 - cx1 : x2 - cx1].copy()


def pixelate(image: np.ndarray, region, face_px: int, pixel_blocks: int = 8,
             pixel_block_min_px: int = 8) -> np.ndarray:
    """Mosaic of square blocks, ``pixel_blocks`` across the face's shorter side ``face_px`` but
    at least ``pixel_block_min_px`` wide, each the mean colour of its pixels; blocks are
    anchored at the region's top-left corner."""
    x1, y1, x2, y2 = region
    crop = image[y1:y2, x1:x2].astype(np.float32)
    h, w = crop.shape[:2]
    block = max(1, pixel_block_min_px, math.ceil(face_px / pixel_blocks))
    out = np.empty_like(crop)
    for by in range(0, h, block):
        for bx in range(0, w, block):
            cell = crop[by : by + block, bx : bx + block]
            out[by : by + block, bx : bx + block] = cell.reshape(-1, 3).mean(axis=0)
    return np.rint(out).astype(np.uint8)


def solid(image: np.ndarray, region, face_px: int, fill_color: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """The region filled with one colour (the paper's "Crop" baseline: the face removed)."""
    x1, y1, x2, y2 = region
    return np.broadcast_to(np.asarray(fill_color, dtype=np.uint8), (y2 - y1, x2 - x1, 3)).copy()


CLASSIC = {"gauss": gauss, "pixelate": pixelate, "solid": solid}
# The config parameters each classic method takes, by name.
CLASSIC_PARAMS = {"gauss": ("blur_sigma_frac", "blur_sigma_min_px"),
                  "pixelate": ("pixel_blocks", "pixel_block_min_px"), "solid": ("fill_color",)}
METHODS = ("ldfa", *CLASSIC)  # ldfa: latent-diffusion inpainting (``diffusion.py``)
