"""A dataset's own plate polygons as boxes (``ldfa.plugin.geometry.polygons``): the labels are read
by their attributes, as FiftyOne's ``Polylines`` hold them (relative points, shapes of vertices)."""

from types import SimpleNamespace

import pytest
from cityscapesscripts.helpers.labels import name2label

from ldfa.plugin.geometry.polygons import plates_from_polylines, polygon_box
from ldfa.plugin.schema import PLATE_LABEL


def polyline(label: str, *shapes) -> SimpleNamespace:
    return SimpleNamespace(label=label, points=[list(shape) for shape in shapes])


def test_the_plate_label_is_cityscapes_own_name():
    assert name2label[PLATE_LABEL].category == "vehicle"


def test_every_plate_polygon_becomes_its_box_in_order_and_nothing_else_does():
    tilted = [(0.50, 0.60), (0.58, 0.62), (0.57, 0.66), (0.49, 0.64)]  # a plate seen at an angle
    polylines = SimpleNamespace(polylines=[
        polyline("car", [(0.3, 0.4), (0.7, 0.4), (0.7, 0.8), (0.3, 0.8)]),
        polyline(PLATE_LABEL, tilted),
        polyline("person", [(0.1, 0.1), (0.2, 0.1), (0.2, 0.5)]),
        polyline(PLATE_LABEL, [(0.1, 0.9), (0.15, 0.9), (0.15, 0.92), (0.1, 0.92)]),
    ])
    boxes = plates_from_polylines(polylines)
    assert len(boxes) == 2
    assert boxes[0] == pytest.approx([0.49, 0.60, 0.09, 0.06])
    assert boxes[1] == pytest.approx([0.10, 0.90, 0.05, 0.02])


def test_a_plate_in_two_pieces_gets_one_box_around_both():
    """A plate a pole cuts in two is one polyline of two shapes: both halves must be hidden."""
    left, right = [(0.2, 0.5), (0.22, 0.5), (0.22, 0.52)], [(0.25, 0.49), (0.28, 0.51), (0.26, 0.53)]
    assert polygon_box([left, right]) == pytest.approx([0.2, 0.49, 0.08, 0.04])


def test_a_plate_at_the_edge_is_clipped_to_the_image_and_one_without_area_is_left_out():
    edge = polyline(PLATE_LABEL, [(0.95, 0.7), (1.02, 0.7), (1.02, 0.74), (0.95, 0.74)])
    flat = polyline(PLATE_LABEL, [(0.4, 0.5), (0.45, 0.5)])
    empty = polyline(PLATE_LABEL)
    boxes = plates_from_polylines(SimpleNamespace(polylines=[edge, flat, empty]))
    assert len(boxes) == 1 and boxes[0] == pytest.approx([0.95, 0.7, 0.05, 0.04])


@pytest.mark.parametrize("label", [None, SimpleNamespace(polylines=None), SimpleNamespace(polylines=[])])
def test_no_annotation_gives_no_plate(label):
    assert plates_from_polylines(label) == []
