"""Plate OCR (the real PP-OCRv6 recogniser) and the plate metric's core: text, cover, status."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ldfa.plugin.errors import ModelUnavailableError
from ldfa.plugin.metrics.pair_core import FaceRef, PairTask
from ldfa.plugin.metrics.pairs import Pair
from ldfa.plugin.metrics.plates import (
    CHANGE_TOLERANCE,
    PlateJudge,
    PlateSummary,
    cover,
    match_recall,
    ocr_figures,
    plate_status,
    recovered,
    replaced_pixels,
    width_bucket,
)
from ldfa.plugin.models import ocr
from ldfa.plugin.schema import AT_RISK, NOT_MEASURABLE, REPLACED

SHARED_PLATES = Path(__file__).resolve().parents[3] / "shared" / "data" / "plates"


def plate_image(text: str, size=(260, 64)) -> np.ndarray:
    """A light plate with a dark border and ``text`` in dark letters, as RGB."""
    image = Image.new("RGB", size, (235, 235, 228))
    draw = ImageDraw.Draw(image)
    draw.rectangle([1, 1, size[0] - 2, size[1] - 2], outline=(20, 20, 20), width=3)
    draw.text((size[0] / 2, size[1] / 2), text, fill=(15, 15, 15), font=ImageFont.load_default(size=40),
              anchor="mm")
    return np.asarray(image)


def test_text_is_normalized_to_capitals_and_digits():
    assert ocr.normalize("rk 755-aj") == "RK755AJ"
    assert ocr.normalize("ŽG·12 ab\n") == "G12AB"


def test_recovered_counts_the_longest_shared_run_with_o_0_and_i_1_alike():
    assert recovered("RK755AJ", "XX755QQ") == 3
    assert recovered("RKO99AN", "RK099AN") == 7  # O read as 0
    assert recovered("BA268IM", "BA2681M") == 7  # I read as 1
    assert recovered("RK755AJ", "7JK5RA") == 1  # "K5A" in order, but never two in a row
    assert recovered("RK755AJ", "") == 0


def test_cover_counts_changed_pixels_and_those_they_enclose():
    rng = np.random.default_rng(0)
    original = rng.integers(30, 220, (40, 100, 3), dtype=np.uint8)
    noise = rng.integers(-CHANGE_TOLERANCE, CHANGE_TOLERANCE + 1, original.shape)
    resaved = (original + noise).astype(np.uint8)  # changes within the tolerance: nothing replaced
    assert cover(replaced_pixels(original, resaved), (10, 10, 90, 30)) == 0.0

    original[15:25, 40:60] = 0  # a black character ...
    filled = original.copy()
    filled[5:35, 5:95] = 0  # ... inside a black fill stays black, yet it is enclosed: replaced
    assert cover(replaced_pixels(original, filled), (10, 10, 90, 30)) == 1.0

    half = original.copy()
    half[:, :50] = 255
    assert cover(replaced_pixels(original, half), (10, 10, 90, 30)) == pytest.approx(0.5)
    assert cover(replaced_pixels(original, half), (10, 10, 10, 30)) == 0.0  # an empty region


def test_status_needs_the_plate_covered_and_no_text_recovered():
    assert plate_status(0.95, "RK755AJ", 0) == REPLACED
    assert plate_status(0.80, "RK755AJ", 0) == AT_RISK  # a tenth of the plate untouched
    assert plate_status(1.00, "RK755AJ", 3) == AT_RISK  # three characters in a row read back
    assert plate_status(1.00, "RK755AJ", 2) == REPLACED
    assert plate_status(1.00, "AB", 2) == NOT_MEASURABLE  # no usable reading of the original
    assert plate_status(1.00, None, None) == NOT_MEASURABLE  # no OCR here
    assert plate_status(0.50, None, None) == AT_RISK
    assert plate_status(None, "RK755AJ", None) == NOT_MEASURABLE  # no version to compare


def test_width_buckets_and_greedy_matching():
    assert [width_bucket(w) for w in (10, 63.9, 64, 127, 128, 255, 256, 900)] == \
        ["<64", "<64", "64-128", "64-128", "128-256", "128-256", ">=256", ">=256"]
    truth = [(0.1, 0.1, 0.2, 0.1), (0.5, 0.5, 0.2, 0.1), (0.8, 0.8, 0.1, 0.1)]
    found = [(0.11, 0.1, 0.2, 0.1), (0.5, 0.52, 0.2, 0.1), (0.12, 0.1, 0.2, 0.1)]  # two on the first
    assert match_recall(truth, found).tolist() == [True, True, False]
    assert match_recall(truth, []).tolist() == [False, False, False]


def test_ocr_reads_a_rendered_plate_and_nothing_on_a_blank_one():
    assert ocr.ocr_available() == (True, "")
    assert ocr.read_text(plate_image("AB123CD")) == "AB123CD"
    small = np.asarray(Image.fromarray(plate_image("RK755AJ")).resize((65, 16), Image.BILINEAR))
    assert ocr.read_text(small) == "RK755AJ"  # a far plate, 16 px high
    assert ocr.read_text(np.zeros((40, 150, 3), np.uint8)) == ""
    assert ocr.read_text(np.zeros((1, 150, 3), np.uint8)) == ""


def test_ocr_reads_real_plates():
    coco_path = SHARED_PLATES / "plates_coco.json"
    if not coco_path.exists():
        pytest.skip(f"{SHARED_PLATES} is missing: the shared plates sit beside the checkout in CI")
    coco = json.loads(coco_path.read_text())
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    labelled = [a for a in coco["annotations"] if a.get("text")][:8]
    whole = 0
    for plate in labelled:
        image = np.asarray(Image.open(SHARED_PLATES / "images" / names[plate["image_id"]]).convert("RGB"))
        x, y, w, h = (round(v) for v in plate["bbox"])
        truth = ocr.normalize(plate["text"])
        whole += recovered(truth, ocr.read_text(image[y : y + h, x : x + w])) == len(truth)
    assert whole >= 7, f"{whole} of {len(labelled)} plates read whole"  # measured: 108 plates, 97 % of characters


def test_without_the_model_ocr_is_unavailable_not_a_crash(monkeypatch):
    def refuse(spec):
        raise ModelUnavailableError(f"could not fetch {spec.member}")

    ocr._recognizer.cache_clear()
    monkeypatch.setattr(ocr, "packaged_file", refuse)
    try:
        available, why = ocr.ocr_available()
        assert not available and why.startswith("OCR unavailable: could not fetch rapidocr/models/")
    finally:
        ocr._recognizer.cache_clear()


def test_the_judge_tells_replaced_half_covered_and_untouched_plates_apart(tmp_path):
    scene = np.full((200, 400, 3), 90, np.uint8)
    scene[68:132, 70:330] = plate_image("AB123CD")
    box = (70 / 400, 68 / 200, 260 / 400, 64 / 200)
    versions = {"untouched": scene, "solid": scene.copy(), "half": scene.copy()}
    versions["solid"][60:140, 60:340] = 0
    versions["half"][60:140, 60:200] = 0
    for name, pixels in {"original": scene, **versions}.items():
        Image.fromarray(pixels).save(tmp_path / f"{name}.png")
    judge, original = PlateJudge(), str(tmp_path / "original.png")

    def judged(name: str):
        task = PairTask("s", original, str(tmp_path / f"{name}.png"), False, (FaceRef("p", box),))
        return judge(task, task.pair())[0]

    solid, half, untouched = judged("solid"), judged("half"), judged("untouched")
    assert solid.text == "AB123CD" and solid.text_after == "" and solid.cover == 1.0
    assert solid.status == REPLACED and solid.width_px == pytest.approx(260)
    assert half.cover == pytest.approx(130 / 260) and half.recovered >= 3 and half.status == AT_RISK
    assert untouched.cover == 0.0 and untouched.recovered == 7 and untouched.status == AT_RISK
    missing = judge(PairTask("s", original, None, False, (FaceRef("p", box),)), Pair(original, None))[0]
    assert missing.status == NOT_MEASURABLE and missing.cover is None and missing.text == "AB123CD"

    blind = PlateJudge(ocr=False)  # no OCR here: only the cover can tell
    task = PairTask("s", original, str(tmp_path / "solid.png"), False, (FaceRef("p", box),))
    assert blind(task, task.pair())[0].status == NOT_MEASURABLE
    task = PairTask("s", original, str(tmp_path / "half.png"), False, (FaceRef("p", box),))
    half = blind(task, task.pair())[0]
    assert half.status == AT_RISK
    summary = PlateSummary(field="anon_half", plates_field="plates", gt_field=None, ocr=False,
                           ocr_unavailable="OCR unavailable: no model", detected=ocr_figures([half]))
    assert str(summary).splitlines() == ["plates in 'plates': 1, 1 at risk, 0 not measurable, 0 replaced",
                                         "OCR unavailable: no model: text leaks not measured"]
