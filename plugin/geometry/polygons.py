"""Boxes of a dataset's own polygons: Cityscapes outlines every licence plate it labels (``license
plate``, on cars) as a polygon, while detection, anonymization and the measures work on boxes.

Labels are read by their attributes (``.polylines``, ``.label``, ``.points``), so a detection
worker needs no FiftyOne to turn a sample's polygons into plate boxes.
"""

from __future__ import annotations

from ldfa.plugin.schema import PLATE_LABEL


def polygon_box(points) -> list[float] | None:
    """The relative [x, y, w, h] box around every vertex of a polyline's shapes, clipped to the
    image; None when it has no area (no vertex, or every vertex on one line)."""
    vertices = [vertex for shape in points or [] for vertex in shape]
    if not vertices:
        return None
    xs, ys = ([min(1.0, max(0.0, float(v[k]))) for v in vertices] for k in (0, 1))
    x, y = min(xs), min(ys)
    w, h = max(xs) - x, max(ys) - y
    return [x, y, w, h] if w > 0 and h > 0 else None


def plates_from_polylines(polylines) -> list[list[float]]:
    """The relative [x, y, w, h] box of every polyline labelled ``license plate`` in ``polylines``
    (an ``fo.Polylines``, e.g. a Cityscapes sample's ``gt_fine``; None: not annotated), in its
    order; a plate drawn without area is left out (there is nothing of it to hide)."""
    lines = getattr(polylines, "polylines", None) or []
    boxes = (polygon_box(line.points) for line in lines if line.label == PLATE_LABEL)
    return [box for box in boxes if box is not None]
