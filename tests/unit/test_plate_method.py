"""The synthetic plate (``methods/plate.py``) on real labelled plates: what the method contract
(``test_method_contract.py``, which runs every registered method) cannot see: a plate's grown box
replaced whole through the engine, its edge kept hard, the same pixels for the same input, and
random characters, never the original's."""

import collections
import json
import math

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import FaceTask, ImagePlan, ImageTask, plan_faces, render
from ldfa.plugin.anonymization.methods import METHODS
from ldfa.plugin.anonymization.methods.plate import LETTERS, new_plate, random_text, synthetic_plate
from ldfa.plugin.geometry.masks import face_region

EVERY = 10  # every tenth labelled plate: 12 plates, close-ups and dashcam frames


@pytest.fixture(scope="module")
def plates(shared_data) -> list[tuple[np.ndarray, tuple, str | None]]:
    """(image, relative box, labelled text or None) of every tenth plate of ../shared/data/plates."""
    folder = shared_data / "plates"
    if not (folder / "plates_coco.json").is_file():
        pytest.skip(f"needs the labelled plates at {folder} (not part of a fresh clone)")
    coco = json.loads((folder / "plates_coco.json").read_text())
    images = {i["id"]: i for i in coco["images"]}
    out = []
    for plate in coco["annotations"][::EVERY]:
        image = images[plate["image_id"]]
        pixels = np.asarray(Image.open(folder / "images" / image["file_name"]).convert("RGB"))
        x, y, w, h = plate["bbox"]
        W, H = image["width"], image["height"]
        out.append((pixels, (x / W, y / H, w / W, h / H), plate.get("text")))
    return out


def painted(pixels: np.ndarray, boxes, **params) -> np.ndarray:
    """``pixels`` with these plates replaced by the engine, with the plate method."""
    config = AnonymizationConfig.build(method="solid", plate_method="plate", **params)
    task = ImageTask("s", "", "", tuple(FaceTask(str(i), box, kind="plate") for i, box in enumerate(boxes)))
    [(out, _)] = render([ImagePlan(task, pixels, "", 1, plan_faces(task, pixels, config))], config, None)
    return out


def test_the_plate_method_is_registered_so_the_method_contract_runs_it():
    assert METHODS["plate"].paint is synthetic_plate and not METHODS["plate"].batched
    assert AnonymizationConfig.build(method="ldfa").plates_method == "plate"


def test_each_real_plate_is_replaced_whole_and_its_surroundings_kept(plates):
    """Every pixel of the grown box is new (>= 90 % differ; a coincidence may match), nothing
    outside it changes: the engine's blend ring keeps the original, a plate has a hard edge."""
    config = AnonymizationConfig.build(plate_method="plate")
    for pixels, box, _ in plates:
        out = painted(pixels, [box])
        H, W = pixels.shape[:2]
        x1, y1, x2, y2 = face_region(W, H, box, config.plate_grow)
        assert (out[y1:y2, x1:x2] != pixels[y1:y2, x1:x2]).any(-1).mean() >= 0.9
        outside = np.ones((H, W), dtype=bool)
        outside[y1:y2, x1:x2] = False
        assert (out[outside] == pixels[outside]).all()


@pytest.mark.parametrize("box", [(40 / 96, 30 / 72, 1 / 96, 1 / 72), (0.0, 0.0, 1.0, 1.0), (0.0, 0.5, 0.5, 0.5)],
                         ids=["1-px plate", "frame-filling plate", "plate in a corner"])
def test_a_tiny_plate_and_plates_at_the_frames_edges_are_replaced_whole(box):
    """Where no surroundings are left to fill the box from, or no blend ring fits: the method
    contract's edge cases, for plates (the contract runs face methods)."""
    pixels = np.random.default_rng(0).integers(40, 256, (72, 96, 3), dtype=np.uint8)
    out = painted(pixels, [box])
    x1, y1, x2, y2 = face_region(96, 72, box, AnonymizationConfig().plate_grow)
    assert (out[y1:y2, x1:x2] != pixels[y1:y2, x1:x2]).any(-1).mean() > 0.9


def test_the_same_plate_and_seed_give_the_same_pixels_and_another_seed_another_plate(plates):
    pixels, box, _ = plates[1]
    first = painted(pixels, [box], seed=3)
    assert (painted(pixels.copy(), [box], seed=3) == first).all()
    assert (painted(pixels, [box], seed=4) != first).any()


def test_the_characters_are_random_never_the_originals(plates):
    """Drawn from the seed alone: the same box with ten run seeds gets ten texts; a labelled
    plate never gets its own text, and shares with it only what chance gives (about 1.4 of 7
    characters over the 108 labelled plates; a copied text would share all 7)."""
    pixels, box, _ = plates[1]
    H, W = pixels.shape[:2]
    x1, y1, x2, y2 = face_region(W, H, box, 1.3)
    crop = pixels[y1:y2, x1:x2]
    assert len({new_plate(crop, seed, 1.3).text for seed in range(10)}) == 10
    shared = []
    for pixels, box, text in plates:
        if text is None:
            continue
        H, W = pixels.shape[:2]
        x1, y1, x2, y2 = face_region(W, H, box, 1.3)
        new = new_plate(pixels[y1:y2, x1:x2], 0, 1.3).text.replace(" ", "")
        assert new != text
        shared.append(sum((collections.Counter(new) & collections.Counter(text)).values()))
    assert len(shared) >= 5 and np.mean(shared) < 3


@pytest.mark.parametrize("aspect, lines", [(4.7, 1), (2.0, 1), (1.0, 2)])
def test_the_text_follows_a_plate_pattern_for_the_boxs_shape(aspect, lines):
    rng = np.random.default_rng(0)
    for _ in range(20):
        text = random_text(rng, aspect)
        assert text.count("\n") == lines - 1
        assert all(c in LETTERS or c.isdigit() or c in " \n" for c in text)
        assert any(c.isdigit() for c in text) and any(c in LETTERS for c in text)


def test_ocr_recovers_no_run_of_the_originals_characters_on_the_new_plate(plates):
    """The issue's leak test, as ``ldfa evaluate`` measures it (``metrics.plates.recovered``: the
    longest run of characters shared): OCR on the new plate (its labelled box) against the
    labelled text, or against what it reads on the original."""
    ocr = pytest.importorskip("ldfa.plugin.models.ocr")
    metrics = pytest.importorskip("ldfa.plugin.metrics.plates")
    available, why = ocr.ocr_available()
    if not available:
        pytest.skip(why)
    for pixels, box, text in plates:
        H, W = pixels.shape[:2]
        x, y, w, h = box
        crop = (slice(int(y * H), math.ceil((y + h) * H)), slice(int(x * W), math.ceil((x + w) * W)))
        before = ocr.normalize(text) if text else ocr.read_text(pixels[crop])
        after = ocr.read_text(painted(pixels, [box])[crop])
        assert metrics.recovered(before, after) < metrics.LEAK_CHARS
