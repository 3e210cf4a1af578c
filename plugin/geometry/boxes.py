"""Face boxes between FiftyOne's relative [x, y, w, h] and an image's pixels.

FiftyOne stores boxes relative to the image as the App shows it (EXIF rotation applied);
detectors, embedders, COCO files and plots speak pixels. Every conversion goes through here.
"""

from __future__ import annotations

import numpy as np


def to_pixels(box_rel, width: float, height: float) -> list[float]:
    """A relative [x, y, w, h] box as [x, y, w, h] in pixels (COCO's ``bbox``)."""
    x, y, w, h = box_rel
    return [float(x * width), float(y * height), float(w * width), float(h * height)]


def to_corners(box_rel, width: float, height: float) -> np.ndarray:
    """A relative [x, y, w, h] box as x1, y1, x2, y2 in pixels."""
    x, y, w, h = to_pixels(box_rel, width, height)
    return np.array([x, y, x + w, y + h])


def from_pixels(x: float, y: float, w: float, h: float, width: float, height: float) -> list[float]:
    """A pixel [x, y, w, h] box (COCO's ``bbox``) as FiftyOne's relative [x, y, w, h]."""
    return [x / width, y / height, w / width, h / height]


def from_corners(corners, width: float, height: float) -> list[float]:
    """A pixel x1, y1, x2, y2 box as FiftyOne's relative [x, y, w, h]."""
    x1, y1, x2, y2 = (float(v) for v in corners)
    return from_pixels(x1, y1, x2 - x1, y2 - y1, width, height)


def iou(a, b) -> np.ndarray:
    """Intersection over union of every corner box (x1, y1, x2, y2) of ``a`` with every one of ``b``."""
    a, b = (np.asarray(x, dtype=np.float64).reshape(-1, 4) for x in (a, b))
    w = (np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])).clip(0)
    h = (np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])).clip(0)
    inter = w * h
    area_a, area_b = ((x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1]) for x in (a, b))
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
