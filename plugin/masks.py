"""Face masks: the exact pixels an anonymization may change, and inward-feathered blend weights.

One function decides a face's pixel region (``face_region``) so that the anonymizers, the
paste-back and the export verification all agree on it: every changed pixel lies inside
``union_mask`` of the faces, and blending fades to the original only *inside* that mask.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import distance_transform_edt


def face_region(width: int, height: int, box_rel, grow: float = 1.0) -> tuple[int, int, int, int]:
    """Pixel box (x1, y1, x2, y2), end-exclusive and clipped to the image, of a relative
    [x, y, w, h] face box grown by ``grow`` around its centre. Rounds outward: the region
    always covers the detection."""
    x, y, w, h = box_rel
    cx, cy = (x + w / 2) * width, (y + h / 2) * height
    half_w, half_h = w * width * grow / 2, h * height * grow / 2
    x1, y1 = max(0, math.floor(cx - half_w)), max(0, math.floor(cy - half_h))
    x2, y2 = min(width, math.ceil(cx + half_w)), min(height, math.ceil(cy + half_h))
    return x1, y1, max(x1, x2), max(y1, y2)


def region_mask(region: tuple[int, int, int, int], ellipse: bool = False) -> np.ndarray:
    """Boolean mask of the region's own pixels: all of them, or the inscribed ellipse."""
    x1, y1, x2, y2 = region
    h, w = y2 - y1, x2 - x1
    if not ellipse:
        return np.ones((h, w), dtype=bool)
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2 <= 1.0


def union_mask(width: int, height: int, boxes_rel, grow: float = 1.0, ellipse: bool = False) -> np.ndarray:
    """H x W boolean mask of every pixel any method may change for these faces."""
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes_rel:
        x1, y1, x2, y2 = region = face_region(width, height, box, grow)
        mask[y1:y2, x1:x2] |= region_mask(region, ellipse)
    return mask


def feather(mask: np.ndarray, blur_px: float, image_edges: tuple[bool, bool, bool, bool]) -> np.ndarray:
    """Blend weights in [0, 1]: 1 deep inside ``mask``, falling to 0 over ``blur_px`` towards
    its border, exactly 0 outside. Sides where the region meets the image edge
    (left, top, right, bottom) do not fade: the face continues past the image there."""
    if blur_px <= 0:
        return mask.astype(np.float32)
    left, top, right, bottom = image_edges
    padded = np.pad(mask, 1, constant_values=False)
    # Treat the image edge as "more face" so weights there stay at full strength.
    if left:
        padded[:, 0] = padded[:, 1]
    if right:
        padded[:, -1] = padded[:, -2]
    if top:
        padded[0, :] = padded[1, :]
    if bottom:
        padded[-1, :] = padded[-2, :]
    if padded.all():  # the region fills the whole image: there is no border to fade towards
        return mask.astype(np.float32)
    distance = distance_transform_edt(padded)[1:-1, 1:-1]
    return np.clip(distance / (blur_px + 1), 0.0, 1.0).astype(np.float32) * mask
