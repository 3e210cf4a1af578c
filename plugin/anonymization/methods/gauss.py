"""Gaussian blur: a baseline of the LDFA paper's comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from ldfa.plugin.anonymization.methods.base import Method
from ldfa.plugin.options import option


@dataclass(frozen=True)
class GaussParams:
    blur_sigma_frac: float = option(0.125, "gauss: sigma as a fraction of the face's shorter side",
                                    low=0)
    blur_sigma_min_px: float = option(3.0, "gauss: sigma at least this many pixels (the LDFA "
                                      "paper's baseline)", low=0)


def gauss(image: np.ndarray, region, face_px: int, params: GaussParams) -> np.ndarray:
    """Gaussian blur with sigma = ``blur_sigma_frac`` x the face's shorter side ``face_px``, at
    least ``blur_sigma_min_px`` (relative strength alone would leave a 10-px face as it was),
    computed with the surrounding pixels as context so the region's edges blur like its centre."""
    x1, y1, x2, y2 = region
    sigma = max(params.blur_sigma_min_px, params.blur_sigma_frac * face_px)
    margin = math.ceil(3 * sigma)
    h, w = image.shape[:2]
    cx1, cy1, cx2, cy2 = max(0, x1 - margin), max(0, y1 - margin), min(w, x2 + margin), min(h, y2 + margin)
    context = Image.fromarray(image[cy1:cy2, cx1:cx2]).filter(ImageFilter.GaussianBlur(sigma))
    return np.asarray(context)[y1 - cy1 : y2 - cy1, x1 - cx1 : x2 - cx1].copy()


METHOD = Method("gauss", "Gaussian blur", GaussParams, paint=gauss)
