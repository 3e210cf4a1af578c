"""The plate detection core: images in, licence plates out, never a database.

The detector's plates (``ldfa.plugin.models.plates``), and each plate the dataset's own labels
outline (Cityscapes' ``license plate`` polygons) that the detector left out, source
``annotation``; one box per plate, by the rule faces follow (``core.one_box_per_face``).
"""

from __future__ import annotations

import numpy as np

from ldfa.plugin.detection.core import one_box_per_face
from ldfa.plugin.geometry.polygons import plates_from_polylines
from ldfa.plugin.models.detector.backends import Face
from ldfa.plugin.models.plates import PlateDetectorConfig, detect_plates_in
from ldfa.plugin.schema import ANNOTATION_SOURCE


def find_plates(images: list[np.ndarray], labels: list[tuple], config: PlateDetectorConfig) -> list[list[Face]]:
    """Plates of each RGB image: the detector's, and one per ``license plate`` polygon of the
    image's ``labels`` (one ``fo.Polylines`` per labels field), one box per plate."""
    merged = []
    for image, plates, polylines in zip(images, detect_plates_in(images, config), labels):
        height, width = image.shape[:2]
        scale = np.array([width, height, width, height], dtype=np.float32)
        drawn = [Face(np.array([x, y, x + w, y + h], dtype=np.float32) * scale, None, None, ANNOTATION_SOURCE)
                 for field in polylines for x, y, w, h in plates_from_polylines(field)]
        merged.append(one_box_per_face(plates + drawn))
    return merged
