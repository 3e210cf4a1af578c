"""Where the faces are on the photos that ship inside packages (``write_sample_photos``), as
relative [x, y, w, h] boxes, and the face labels tests build from them."""

from __future__ import annotations

ASTRONAUT_FACE = (0.36, 0.08, 0.2, 0.3)  # skimage's astronaut, 512 x 512
HOPPER_FACE = (0.3, 0.15, 0.35, 0.3)  # matplotlib's Grace Hopper
TINY_FACE = (0.02, 0.02, 0.03, 0.03)  # ~15 px on the astronaut: a "small face" (no face there)


def iou(a, b) -> float:
    """IoU of two relative [x, y, w, h] boxes."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


def face_labels(*boxes, confidence: float = 0.9):
    """``fo.Detections`` of faces at these relative boxes."""
    import fiftyone as fo

    return fo.Detections(detections=[fo.Detection(label="face", bounding_box=list(b),
                                                   confidence=confidence) for b in boxes])
