"""Face masks: every face box replaced whole, the blend fading out *outside* it.

A face that is only partly replaced is still a leak, so the face's shape (its box, or the
ellipse through the box's corners) is replaced with weight 1 in every pixel, and the blend
into the surroundings happens in a ring of ``fade_px`` outside the shape. One function decides
a face's box (``face_region``) and one its blend weights (``blend_weights``), so that the
anonymizers, the paste-back and the export verification agree: every changed pixel lies inside
``union_mask``, and every other pixel is the source's own.
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
    x1 = min(max(0, math.floor(cx - half_w)), width)  # a box beyond the right or bottom edge: empty
    y1 = min(max(0, math.floor(cy - half_h)), height)
    x2, y2 = min(width, math.ceil(cx + half_w)), min(height, math.ceil(cy + half_h))
    return x1, y1, max(x1, x2), max(y1, y2)


def paste_region(region, fade_px: float, width: int, height: int,
                 ellipse: bool = False) -> tuple[int, int, int, int]:
    """The pixels a face may change: its region grown by the fade ring, clipped to the image.
    With an elliptical shape the ring starts at the ellipse, which reaches beyond the box."""
    x1, y1, x2, y2 = region
    reach = math.ceil(max(fade_px, 0)) + (math.ceil(_ellipse_overhang(region)) if ellipse else 0)
    return max(0, x1 - reach), max(0, y1 - reach), min(width, x2 + reach), min(height, y2 + reach)


def _ellipse_overhang(region) -> float:
    """How far the ellipse through the box's corners reaches beyond the box on its longer side."""
    x1, y1, x2, y2 = region
    return (math.sqrt(2) - 1) * max(x2 - x1, y2 - y1) / 2


def face_shape(region, paste, ellipse: bool = False) -> np.ndarray:
    """Boolean mask, over ``paste``'s pixels, of the face's shape: its whole box, or the
    ellipse through the box's corners (which contains the whole box)."""
    px1, py1, px2, py2 = paste
    x1, y1, x2, y2 = region
    shape = np.zeros((py2 - py1, px2 - px1), dtype=bool)
    shape[y1 - py1 : y2 - py1, x1 - px1 : x2 - px1] = True
    if ellipse and x2 > x1 and y2 > y1:
        yy, xx = np.mgrid[py1:py2, px1:px2] + 0.5
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        ax, ay = (x2 - x1) / math.sqrt(2), (y2 - y1) / math.sqrt(2)
        shape |= ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0
    return shape


def blend_weights(shape: np.ndarray, fade_px: float) -> np.ndarray:
    """Weights in [0, 1]: exactly 1 on the face's shape, falling linearly to 0 over ``fade_px``
    pixels outside it, 0 beyond. The face is replaced whole; only its surroundings blend."""
    if fade_px <= 0 or shape.all() or not shape.any():
        return shape.astype(np.float32)
    outside = distance_transform_edt(~shape)  # distance of every pixel to the shape
    return np.clip(1.0 - outside / (fade_px + 1), 0.0, 1.0).astype(np.float32)


def union_mask(width: int, height: int, boxes_rel, grow: float = 1.0, ellipse: bool = False,
               fade_px: float = 0.0) -> np.ndarray:
    """H x W boolean mask of every pixel any method may change for these faces."""
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes_rel:
        region = face_region(width, height, box, grow)
        px1, py1, px2, py2 = paste = paste_region(region, fade_px, width, height, ellipse)
        mask[py1:py2, px1:px2] |= blend_weights(face_shape(region, paste, ellipse), fade_px) > 0
    return mask


def regions_mask(width: int, height: int, faces, mask: dict, plates=()) -> np.ndarray:
    """H x W boolean mask of every pixel a run may change for these faces and licence plates,
    from its recorded mask parameters (``grow``, ``ellipse``, ``fade_px``; ``plates``: the
    plates' ``grow`` and ``fade_px``, a plate's shape being its box): what verification allows."""
    inside = union_mask(width, height, faces, mask["grow"], mask["ellipse"], mask.get("fade_px", 0))
    if plates:
        inside |= union_mask(width, height, plates, mask["plates"]["grow"], False, mask["plates"]["fade_px"])
    return inside
