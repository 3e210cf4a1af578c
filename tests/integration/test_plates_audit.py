"""Licence plates in the audit, as their own review queue beside the faces': saved views per status,
the panel's plates table and its tiles, on real FiftyOne (the source dataset and its grouped audit).

The plates' facts are written here as the plate measures (``ldfa.plugin.metrics.plates``) write them:
a review status per version, the share of the plate changed, the text OCR reads before and after.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.operators.panel_tables import PLATE_QUEUE_COLUMNS
from ldfa.plugin.io.images import display_size
from ldfa.plugin.schema import (
    AT_RISK,
    FACE_STATUSES,
    NOT_MEASURABLE,
    PLATE_EVAL,
    PLATE_LABEL,
    PLATE_TEXT,
    PLATES,
    REPLACED,
    face_status,
    plate_fact,
    plates_queue_view,
    queue_view,
    run_key,
)
from ldfa_testing.panels import call_panel, shown_property, shown_view
from ldfa_testing.photos import ASTRONAUT_FACE, face_labels

MEASURED = "anon_solid"  # the version whose plates were measured; anon_pixelate's were not
# per photo, its plates (relative boxes) and their facts in MEASURED: status, cover, OCR text on the
# original, on MEASURED, characters of the original's text recovered
PLATED = [
    [((0.10, 0.80, 0.12, 0.04), (AT_RISK, 0.9, "B AB 123", "B AB", 4)),
     ((0.60, 0.85, 0.10, 0.03), (NOT_MEASURABLE, 0.3, None, None, None)),
     ((0.75, 0.60, 0.08, 0.03), (REPLACED, 1.0, "M XY 77", "", 0))],
    [((0.05, 0.70, 0.15, 0.05), (AT_RISK, 0.4, "HH 1234", "HH 1234", 6)),
     ((0.70, 0.75, 0.10, 0.04), (NOT_MEASURABLE, 0.95, None, None, None))],
]


@pytest.fixture
def plated(audited):
    """``audited`` (two photos, two versions, faces measured) with licence plates, those of
    ``MEASURED`` measured, and the plate run recorded; and its audit dataset, as ``open_audit`` builds it."""
    import fiftyone as fo

    from ldfa.plugin.runs import record_run

    audited.set_values(PLATES, [fo.Detections(detections=[
        fo.Detection(label=PLATE_LABEL, bounding_box=list(box), confidence=0.8, source="platedet")
        for box, _ in plates]) for plates in PLATED])
    names = (face_status(MEASURED), *(plate_fact(MEASURED, f) for f in ("cover", "ocr_text", "recovered")))
    kinds = (fo.StringField, fo.FloatField, fo.StringField, fo.IntField)
    for name, kind in ((PLATE_TEXT, fo.StringField), *zip(names, kinds)):
        audited.add_sample_field(f"{PLATES}.detections.{name}", kind)
    for sample, plates in zip(audited.iter_samples(autosave=True), PLATED):
        for plate, (_, (status, cover, before, after, recovered)) in zip(sample[PLATES].detections, plates):
            plate[PLATE_TEXT] = before
            for name, value in zip(names, (status, cover, after, recovered)):
                plate[name] = value
    record_run(audited, run_key(PLATE_EVAL, MEASURED), {"field": MEASURED, "plates_field": PLATES},
               {"field": MEASURED, "plates_field": PLATES, "ocr": True, "detected": {
                   "plates": 5, "readable_before": 3, "leaks": 2}, "labelled": {
                   "plates": 4, "matched": 3, "recall": 0.75, "covered": 2, "covered_whole": 0.5}})
    audit = ldfa.open_audit(audited)
    yield audited, audit
    fo.delete_dataset(audit.name)


def ids_of(dataset, key) -> dict:
    """Plate id by the value of one of its facts in ``MEASURED``."""
    ids, values = dataset.values(f"{PLATES}.detections.id", unwind=True), dataset.values(
        f"{PLATES}.detections.{key}", unwind=True)
    return dict(zip(values, ids))


def test_measured_plates_get_their_own_saved_queues_on_the_dataset_and_its_audit(plated):
    dataset, audit = plated
    by_cover = ids_of(dataset, plate_fact(MEASURED, "cover"))
    expected = {AT_RISK: [by_cover[0.4], by_cover[0.9]],  # most of the original's text read first
                NOT_MEASURABLE: [by_cover[0.3], by_cover[0.95]],  # least changed first
                REPLACED: [by_cover[1.0]]}
    for collection in (dataset, audit):
        views = set(collection.list_saved_views())
        assert {plates_queue_view(MEASURED, s) for s in FACE_STATUSES} <= views
        assert not any(plates_queue_view("anon_pixelate", s) in views for s in FACE_STATUSES)  # never measured
        assert {queue_view(v, s) for v in (MEASURED, "anon_pixelate") for s in FACE_STATUSES} <= views  # faces'
        for status, ids in expected.items():
            assert collection.load_saved_view(plates_queue_view(MEASURED, status)).values(f"{PLATES}.id") == ids
    # on the audit dataset the plates are cut from the version's slice: the anonymized images
    at_risk = audit.load_saved_view(plates_queue_view(MEASURED, AT_RISK))
    assert set(at_risk.values("filepath")) == set(dataset.values(MEASURED))
    for member in audit.select_group_slices():  # every slice carries the plates, facts included
        assert member[PLATES] == dataset[member.source_id][PLATES]


def test_a_dataset_without_plates_gets_no_plates_queue(audited):
    import fiftyone as fo

    audit = ldfa.open_audit(audited)
    try:
        assert not [name for name in audit.list_saved_views() + audited.list_saved_views()
                    if name.startswith("ldfa-plates-")]
        assert not audit.select_group_slices().has_field(PLATES)
        state, _, _ = call_panel("anonymization_audit", audit, "on_load")
        assert state["plates_queue"] == []
        with pytest.raises(AssertionError, match="no 'plates_queue'"):
            shown_property(state, "plates_queue")
        shown_property(state, "queue")  # the faces' queue, as before
    finally:
        fo.delete_dataset(audit.name)


def test_the_panel_counts_plates_per_version_and_opens_each_status_as_tiles(plated):
    dataset, audit = plated
    by_cover = ids_of(dataset, plate_fact(MEASURED, "cover"))
    state, _, _ = call_panel("anonymization_audit", audit, "on_load")
    assert [row["field"] for row in state["table"]] == ["original", "anon_pixelate", "anon_solid"]  # faces
    columns = [c["key"] for c in shown_property(state, "plates_queue")["view"]["columns"]]
    assert columns == list(PLATE_QUEUE_COLUMNS)
    rows = [{c: row[c] for c in columns} for row in state["plates_queue"]]
    assert rows == [  # the unmeasured version: its plates, no status made up
        {"field": "anon_pixelate", "plates": 5, "count_at_risk": None, "count_not_measurable": None,
         "count_replaced": None, "leaks_shown": None, "recall_shown": None, "covered_shown": None},
        {"field": MEASURED, "plates": 5, "count_at_risk": 2, "count_not_measurable": 2, "count_replaced": 1,
         "leaks_shown": "2 of 3 readable", "recall_shown": "0.750 (3 / 4)", "covered_shown": "0.500 (2 / 4)"}]

    state, data, ops = call_panel("anonymization_audit", audit, "on_plates_queue_click", state, row=1,
                                  column=columns.index("count_at_risk"))
    patches = shown_view(audit, ops)  # the grid: the plates at risk on the anonymized images
    assert patches.values(f"{PLATES}.id") == [by_cover[0.4], by_cover[0.9]]
    assert set(patches.values("filepath")) == set(dataset.values(MEASURED))
    assert (state["tiles"]["kind"], state["tiles"]["total"]) == (PLATES, 2)
    assert state["tiles_message"].startswith(f"**{MEASURED}, plates at risk**: plates 1-2 of 2, most text read")
    lines = [note["text"] for note in state["tiles_layout"]["annotations"]]
    astronaut, hopper = (display_size(path)[1] for path in dataset.values("filepath"))  # heights
    assert lines == [
        "<b>at risk</b>", f'cover 0.40 · OCR "HH 1234" → "HH 1234" (6 recovered) · {0.05 * hopper:.0f} px',
        "<b>at risk</b>", f'cover 0.90 · OCR "B AB 123" → "B AB" (4 recovered) · {0.04 * astronaut:.0f} px']
    assert {shape["line"]["color"] for shape in state["tiles_layout"]["shapes"]} == {"#f44336"}
    # each tile: the original's crop beside the version's, the plate drawn at least 64 px high
    crops = [Image.open(unquote(image["source"].split("filepath=")[1].split("&")[0]))
             for image in state["tiles_layout"]["images"]]
    assert len(crops) == 4 and all(min(crop.size) >= 64 for crop in crops)
    [trace] = data["tiles_plot"]
    assert trace["ids"] == [by_cover[0.4], by_cover[0.9]]
    assert trace["hovertext"][0].split("<br>") == [
        f"plate 1 · {MEASURED}", "source: platedet", "score: 0.800", "status: at_risk", "cover: 0.400",
        "original's text: HH 1234", "text read: HH 1234", "recovered: 6"]

    state, _, ops = call_panel("anonymization_audit", audit, "on_plates_queue_click", state, row=1,
                               column=columns.index("count_not_measurable"))
    assert shown_view(audit, ops).values(f"{PLATES}.id") == [by_cover[0.3], by_cover[0.95]]
    first, second = (note["text"] for note in state["tiles_layout"]["annotations"][:2])
    assert (first, second.split(" · ")[:2]) == ("<b>not measurable</b>", ["cover 0.30", "OCR — → —"])
    state, _, _ = call_panel("anonymization_audit", audit, "on_next_tiles", state)  # one page: redrawn, still plates
    assert state["tiles"]["kind"] == PLATES and state["tiles_layout"]["annotations"][0]["text"] == first

    state, _, ops = call_panel("anonymization_audit", audit, "on_plates_queue_click", state, row=1,
                               column=columns.index("count_replaced"))
    assert shown_view(audit, ops).values(f"{PLATES}.id") == [by_cover[1.0]]
    assert state["tiles_layout"]["annotations"][1]["text"].startswith('cover 1.00 · OCR "M XY 77" → — · ')

    # nothing opens where nothing was measured, nor from the plates' total
    for row, column in ((0, "count_at_risk"), (1, "plates")):
        _, _, ops = call_panel("anonymization_audit", audit, "on_plates_queue_click", state, row=row,
                               column=columns.index(column))
        assert ops == []

    # a tile click shows that plate's image in the grid, in the version
    _, _, ops = call_panel("anonymization_audit", audit, "on_tile_click", state, id=by_cover[1.0])
    assert ("set_group_slice", {"slice": MEASURED}) in ops
    assert shown_view(audit, ops).values("filepath") == [dataset.first()[MEASURED]]


def test_plates_the_engine_replaced_under_another_name_are_queued_and_drawn_replaced(dataset, sample_photos,
                                                                                   tmp_path):
    """The plates field is the one the anonymization run recorded; the tiles show the original plate
    beside the version's, which the engine filled."""
    import fiftyone as fo

    from ldfa.plugin.audit.views import plates_field_of

    png, _ = sample_photos
    plate = (0.05, 0.85, 0.2, 0.06)
    dataset.add_sample(fo.Sample(filepath=str(png), faces=face_labels(ASTRONAUT_FACE), car_plates=fo.Detections(
        detections=[fo.Detection(label=PLATE_LABEL, bounding_box=list(plate), confidence=0.7)])))
    ldfa.anonymize_faces(dataset, method="solid", plates_field="car_plates", output_dir=tmp_path / "solid",
                         progress=False)
    assert plates_field_of(dataset) == "car_plates"
    dataset.add_sample_field(f"car_plates.detections.{face_status(MEASURED)}", fo.StringField)
    dataset.set_values(f"car_plates.detections.{face_status(MEASURED)}", [[REPLACED]])
    audit = ldfa.open_audit(dataset)
    try:
        [plate_id] = audit.load_saved_view(plates_queue_view(MEASURED, REPLACED)).values("car_plates.id")
        assert plate_id == dataset.first().car_plates.detections[0].id
        state, _, _ = call_panel("anonymization_audit", audit, "on_load")
        assert [(r["field"], r["plates"], r["count_replaced"]) for r in state["plates_queue"]] == [(MEASURED, 1, 1)]
        columns = list(PLATE_QUEUE_COLUMNS)
        state, _, _ = call_panel("anonymization_audit", audit, "on_plates_queue_click", state, row=0,
                                 column=columns.index("count_replaced"))
        original, solid = (np.asarray(Image.open(unquote(image["source"].split("filepath=")[1].split("&")[0]))
                                      .convert("L"), float) for image in state["tiles_layout"]["images"])
        middle = tuple(slice(round(n * 0.45), round(n * 0.55)) for n in original.shape)  # inside the plate
        assert original[middle].std() > 5 and solid[middle].std() < 1  # the photo's detail, then one fill
    finally:
        fo.delete_dataset(audit.name)


SHARED_PLATES = Path(__file__).resolve().parents[3] / "shared" / "data" / "plates"
CLOSE_UPS = ("eu_eu1.jpg", "eu_test_002.jpg")  # European plates, 203 and 124 px wide


def test_real_plates_measured_by_the_plate_metric_fill_the_queue_they_count(dataset, tmp_path):
    """Two photos with their labelled plates, replaced whole (solid) and kept (1-px mosaic blocks),
    measured with the real OCR: the panel's plates table counts what the measures counted, and the
    plates kept open at risk with the text OCR still reads."""
    import fiftyone as fo

    from ldfa.plugin.metrics.plates import measure_plates

    coco_path = SHARED_PLATES / "plates_coco.json"
    if not coco_path.exists():
        pytest.skip(f"{SHARED_PLATES} is missing: the shared plates sit beside the checkout in CI")
    coco = json.loads(coco_path.read_text())
    names = {image["id"]: image for image in coco["images"] if image["file_name"] in CLOSE_UPS}
    for image_id, image in names.items():
        w, h = image["width"], image["height"]
        dataset.add_sample(fo.Sample(filepath=str(SHARED_PLATES / "images" / image["file_name"]),
                                     faces=fo.Detections(), plates=fo.Detections(detections=[
            fo.Detection(label=PLATE_LABEL, bounding_box=[x / w, y / h, bw / w, bh / h], source="annotation")
            for x, y, bw, bh in (a["bbox"] for a in coco["annotations"] if a["image_id"] == image_id)])))
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "solid", progress=False)
    ldfa.anonymize_faces(dataset, method="pixelate", field="anon_kept", pixel_blocks=10_000, pixel_block_min_px=1,
                         output_dir=tmp_path / "kept", progress=False)
    summaries = {v: measure_plates(dataset, v, progress=False) for v in ("anon_kept", MEASURED)}
    audit = ldfa.open_audit(dataset)
    try:
        state, _, _ = call_panel("anonymization_audit", audit, "on_load")
        rows = {row["field"]: row for row in state["plates_queue"]}
        plates = len(dataset.values("plates.detections", unwind=True))
        for version, summary in summaries.items():
            counted = summary["detected"]
            assert rows[version]["plates"] == counted["plates"] == plates
            assert {s: rows[version][f"count_{s}"] for s in FACE_STATUSES} == counted["statuses"]
            assert rows[version]["leaks_shown"] == f"{counted['leaks']} of {counted['readable_before']} readable"
            for status, n in counted["statuses"].items():
                assert len(audit.load_saved_view(plates_queue_view(version, status))) == n
        assert rows["anon_kept"]["count_at_risk"] == plates and rows[MEASURED]["count_at_risk"] == 0
        columns = list(PLATE_QUEUE_COLUMNS)
        state, _, _ = call_panel("anonymization_audit", audit, "on_plates_queue_click", state,
                                 row=list(rows).index("anon_kept"), column=columns.index("count_at_risk"))
        read = [note["text"] for note in state["tiles_layout"]["annotations"]][1::2]
        texts = [t for t in dataset.values(f"plates.detections.{PLATE_TEXT}", unwind=True) if t]
        assert texts and any(f'OCR "{t}" → "{t}"' in line for t in texts for line in read), read
        assert all(line.startswith("cover 0.00 · ") for line in read)
    finally:
        fo.delete_dataset(audit.name)
