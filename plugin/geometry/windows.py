"""Square windows of an image: where one goes around a face, and its pixels at the border.

The detector's second look and the diffusion model both see a face through a square window
(the 1:1 canvas they work on, so nothing is stretched); a window that leaves the image is
filled by reflection so a face at the border keeps a plausible surrounding.
"""

from __future__ import annotations

import numpy as np


def square_window(paste, context_px: int, width: int, height: int) -> tuple[int, int, int]:
    """(left, top, side) of the square crop around ``paste`` plus ``context_px`` on every side:
    centred on it, then moved inside the image along each axis where the image is large
    enough (AUTOMATIC1111's "only masked" crop for a 1:1 canvas)."""
    x1, y1, x2, y2 = paste
    side = max(x2 - x1, y2 - y1) + 2 * context_px
    start = []
    for low, high, extent in ((x1, x2, width), (y1, y2, height)):
        edge = round((low + high - side) / 2)
        start.append(min(max(edge, 0), extent - side) if side <= extent else edge)
    return start[0], start[1], side


def square_crop(image: np.ndarray, left: int, top: int, size: int) -> np.ndarray:
    """The ``size``-px square of ``image`` at (left, top), reflect-padded where it leaves the
    image (edge-padded when the image is a single row or column): a face at the border keeps
    a plausible surrounding for the detector's second look and for the diffusion model."""
    h, w = image.shape[:2]
    pad = ((max(0, -top), max(0, top + size - h)), (max(0, -left), max(0, left + size - w)), (0, 0))
    crop = image[max(0, top) : min(h, top + size), max(0, left) : min(w, left + size)]
    if any(p for axis in pad for p in axis):
        crop = np.pad(crop, pad, mode="reflect" if min(crop.shape[:2]) > 1 else "edge")
    return crop
