"""The plate metric on real plate photos in FiftyOne: a solid fill replaces every plate, a fill of
their left half leaves each at risk, and the detections' recall is counted against the labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.runs import run_results
from ldfa.plugin.schema import AT_RISK, PLATE_EVAL, PLATE_TEXT, REPLACED, face_status, plate_fact, run_key

SHARED_PLATES = Path(__file__).resolve().parents[3] / "shared" / "data" / "plates"
# a dashcam frame with two plates (84 and 92 px wide) and two close-ups (203 and 124 px)
PHOTOS = ("ro_dayride_type1_003_mp4_t_52.jpg", "eu_eu1.jpg", "eu_test_002.jpg")


def labelled() -> dict[str, list[dict]]:
    """The labelled plates of ``PHOTOS`` (COCO annotations) by file name, or a skip."""
    coco_path = SHARED_PLATES / "plates_coco.json"
    if not coco_path.exists():
        pytest.skip(f"{SHARED_PLATES} is missing: the shared plates sit beside the checkout in CI")
    coco = json.loads(coco_path.read_text())
    ids = {image["id"]: image["file_name"] for image in coco["images"] if image["file_name"] in PHOTOS}
    found: dict[str, list[dict]] = {name: [] for name in ids.values()}
    for a in coco["annotations"]:
        if a["image_id"] in ids:
            found[ids[a["image_id"]]].append(a)
    return found


def painted(source: Path, target: Path, plates: list[dict], half: bool) -> str:
    """``source`` written to ``target`` as ldfa writes JPEGs, each plate filled black (grown by
    4 px, as a grown mask would), or only its left half."""
    pixels = np.asarray(Image.open(source).convert("RGB")).copy()
    for plate in plates:
        x, y, w, h = plate["bbox"]
        x1, y1, x2, y2 = int(x) - 4, int(y) - 4, int(np.ceil(x + w)) + 4, int(np.ceil(y + h)) + 4
        pixels[y1:y2, x1 : (x1 + x2) // 2 if half else x2] = 0
    Image.fromarray(pixels).save(target, quality=95, subsampling=0)
    return str(target)


@pytest.fixture
def plates(dataset, tmp_path):
    """Three photos with their labelled plates (``plates_gt``), "detected" plates (``plates``:
    the labels moved by a pixel, the dashcam frame's smaller plate missed) and two versions."""
    import fiftyone as fo

    def detections(boxes, width, height):
        return fo.Detections(detections=[
            fo.Detection(label="license plate", bounding_box=[x / width, y / height, w / width, h / height])
            for x, y, w, h in boxes])

    samples = []
    for name, found in labelled().items():
        source = SHARED_PLATES / "images" / name
        width, height = Image.open(source).size
        boxes = [a["bbox"] for a in found]
        detected = [(x + 1, y + 1, w, h) for x, y, w, h in boxes if w > 85]
        samples.append(fo.Sample(
            filepath=str(source), plates_gt=detections(boxes, width, height),
            plates=detections(detected, width, height),
            anon_solid=painted(source, tmp_path / f"solid_{name}", found, half=False),
            anon_half=painted(source, tmp_path / f"half_{name}", found, half=True)))
    dataset.add_samples(samples)
    return dataset


def facts(dataset, field: str, name: str, fields=("plates_gt",)) -> list:
    return [v for f in fields for v in dataset.values(f"{f}.detections.{name}", unwind=True)]


def test_a_solid_fill_replaces_every_plate_and_recall_counts_the_missed_one(plates):
    from ldfa.plugin.metrics.plates import measure_plates

    summary = measure_plates(plates, "anon_solid", gt_field="plates_gt", progress=False)
    both = ("plates_gt", "plates")
    assert facts(plates, "anon_solid", face_status("anon_solid"), both) == [REPLACED] * 7
    # a dark pixel the fill left as it was, joined to the dark car beyond the fill, stays counted out
    assert facts(plates, "anon_solid", plate_fact("anon_solid", "cover"), both) == pytest.approx([1.0] * 7, abs=0.01)
    assert facts(plates, "anon_solid", plate_fact("anon_solid", "ocr_text"), both) == [""] * 7
    texts = facts(plates, "anon_solid", PLATE_TEXT)
    assert "M5XSX" in texts and "RK755AJ" in texts and all(len(t) >= 4 for t in texts)

    labelled_plates = summary["labelled"]
    assert (labelled_plates["plates"], labelled_plates["matched"], labelled_plates["recall"]) == (4, 3, 0.75)
    assert labelled_plates["by_width"]["64-128"] == {"plates": 3, "matched": 2, "recall": 2 / 3}
    assert labelled_plates["by_width"]["128-256"] == {"plates": 1, "matched": 1, "recall": 1.0}
    assert labelled_plates["covered_whole"] == 1.0 and labelled_plates["leaks"] == 0
    assert labelled_plates["readable_before"] == 4
    assert summary["detected"]["statuses"][REPLACED] == 3
    assert run_results(plates, run_key(PLATE_EVAL, "anon_solid"))["labelled"]["matched"] == 3
    assert str(summary).splitlines()[0] == \
        "plates: 4 labelled, recall 0.75 (3/4) at IoU 0.5; covered whole 1.00 (4/4)"
    assert "OCR: 4 readable before, 0 leaks after (0 characters recovered)" in str(summary)


def test_a_half_covered_plate_is_at_risk(plates):
    from ldfa.plugin.metrics.plates import measure_plates

    summary = measure_plates(plates, "anon_half", progress=False)
    assert facts(plates, "anon_half", face_status("anon_half"), ("plates",)) == [AT_RISK] * 3
    for share in facts(plates, "anon_half", plate_fact("anon_half", "cover"), ("plates",)):
        assert 0.4 < share < 0.6
    assert "labelled" not in summary and summary["detected"]["statuses"][AT_RISK] == 3
    # the right half of each plate is still there to read
    assert summary["detected"]["leaks"] >= 2
    assert not plates.has_field(f"plates_gt.detections.{face_status('anon_half')}")
