"""A face as the embedders cut it, and whether its pixels still hold a face at all.

The identity embedders (``ldfa.plugin.models.embedders``) and the residual-similarity metric
judge the same faces: a box in absolute pixels, with the detector's landmarks when it gave
them. One rule says when a box carries no identity (a flat fill such as ``solid``, or outside
the image), so a metric and an embedder never disagree on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ldfa.plugin.geometry.alignment import similarity_transform

MIN_CROP_PX = 4  # a smaller box has under 2 x 2 pixels in its central half: nothing to check
# Grey levels; below it the box's central half is a flat fill (``solid``): no face. Measured: the
# central half of the 82 real faces of ../shared/data/street-faces (5-47 px) has a std of at
# least 3.46; a black 6-32 px square in the astronaut photo, saved as JPEG at quality 95
# (ldfa's default), at most 1.8.
MIN_CROP_STD = 2.0


@dataclass
class FaceBox:
    """A face in absolute pixels of its image: box x1, y1, x2, y2, and, when the detector gave
    them, its 5 landmarks ((5, 2) x, y: eyes, nose, mouth corners, as ``ldfa.plugin.models.detector.backends.Face``)."""

    box: np.ndarray
    landmarks: np.ndarray | None = None

    @property
    def size(self) -> float:
        """The box's shorter side, the size ``face_sizes`` and ``min_face_px`` speak of."""
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def unusable(image: np.ndarray, box: np.ndarray) -> str | None:
    """Why the face in ``box`` carries no identity, or None.

    Looks at the central half of the box, where eyes, nose and mouth are: a fill there (e.g.
    ``solid``) leaves no face even if the margin around it still shows background. The box is
    rounded inward, so on small faces too only pixels of the face itself are looked at.
    """
    x1, y1, x2, y2 = box
    if min(x2 - x1, y2 - y1) < MIN_CROP_PX:
        return f"face box under {MIN_CROP_PX} px: nothing to embed"
    h, w = image.shape[:2]
    qx, qy = (x2 - x1) / 4, (y2 - y1) / 4
    top, left = max(math.ceil(y1 + qy), 0), max(math.ceil(x1 + qx), 0)
    # never a negative end: a box left of or above the image is empty, not counted from the far side
    core = image[top:max(min(math.floor(y2 - qy), h), top), left:max(min(math.floor(x2 - qx), w), left)]
    if core.size == 0:
        return "face outside the image"
    if float(core.std()) < MIN_CROP_STD:
        return "face area is a uniform fill (no face left)"
    return None


def face_crop(image: Image.Image, face: FaceBox, size: int, template: np.ndarray,
              margin: float) -> np.ndarray:
    """The face as a ``size`` x ``size`` RGB crop: aligned by the similarity transform that puts
    its 5 landmarks on ``template`` (outside the image is black) when it has them, else cut
    from the box plus ``margin`` of its longer side on each side, squared."""
    if face.landmarks is not None:
        to_image = similarity_transform(template, np.asarray(face.landmarks, dtype=np.float64))
        return np.asarray(image.transform((size, size), Image.AFFINE, to_image.ravel(),
                                          Image.BILINEAR, fillcolor=(0, 0, 0)))
    x1, y1, x2, y2 = face.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = max(x2 - x1, y2 - y1) * (0.5 + margin)
    # outward to whole pixels: a box on the frame's edge keeps at least its one pixel
    box = (math.floor(max(cx - half, 0)), math.floor(max(cy - half, 0)),
           math.ceil(min(cx + half, image.width)), math.ceil(min(cy + half, image.height)))
    return np.asarray(image.resize((size, size), Image.BILINEAR, box=box))
