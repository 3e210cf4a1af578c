"""The App's panels, driven through FiftyOne's operator executor as the App drives them.

Each call runs a panel method the way a click in the App does (``__method__``, panel state,
event params) and returns the operations the panel asks the App to perform.
"""

from __future__ import annotations

import pytest

import ldfa
from ldfa.plugin.io.images import read_rgb
from ldfa_testing.panels import call_panel, shown_view
from ldfa_testing.photos import ASTRONAUT_FACE, TINY_FACE


@pytest.fixture
def audit(audited):
    import fiftyone as fo

    audit = ldfa.open_audit(audited)
    yield audit
    fo.delete_dataset(audit.name)


def test_audit_panel_shows_the_table_and_plots_from_recorded_runs(audit):
    state, data, _ = call_panel("anonymization_audit", audit, "on_load")
    assert [row["field"] for row in state["table"]] == ["original", "anon_pixelate", "anon_solid"]
    assert (state["table"][2]["embedder"], state["table"][2]["dist"]) == ("facenet", round((0.9 + 0.2 + 0.35) / 3, 3))
    assert state["table"][0]["mAP"] is None  # no run recorded for the originals: not made up
    # each face's closest distance in same-person thresholds (0.4 here); in red those the
    # verdict calls the same person
    boxes = {t["name"]: sorted(round(y, 6) for y in t["y"]) for t in data["dist_plot"] if t["type"] == "box"}
    assert boxes == {"anon_pixelate": [0.25, 1.25, 1.75], "anon_solid": [0.5, 0.875, 2.25]}
    red = {t["name"]: sorted(round(y, 6) for y in t["y"]) for t in data["dist_plot"] if t["type"] == "scatter"}
    assert red == {"anon_pixelate": [0.25], "anon_solid": [0.5, 0.875]}
    bars = {trace["name"]: trace["y"] for trace in data["ap_plot"]}
    assert bars["small"] == [None, 0.1, 0.1] and bars["large"] == [None, 0.8, 0.8]


def test_clicking_a_row_or_box_shows_that_version_with_its_faces_within_the_threshold(audit):
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
                           x="anon_pixelate", trace="small")
    view = shown_view(audit, ops)
    assert view.values("faces.detections.bounding_box")[0] == [list(TINY_FACE)]
    _, _, ops = call_panel("anonymization_audit", audit, "on_ap_click", state,
                           x="anon_pixelate", trace="large")
    view = shown_view(audit, ops)
    assert view.values("faces.detections.bounding_box")[0] == [list(ASTRONAUT_FACE)]


def test_riskiest_first_is_one_click_and_shows_the_anonymized_faces(audit):
    state, _, _ = call_panel("anonymization_audit", audit, "on_load")
    _, _, ops = call_panel("anonymization_audit", audit, "on_row_riskiest", state, row=1)
    patches = shown_view(audit, ops)
    assert patches.values("faces.anon_pixelate_facenet_dist") == [0.1, 0.5, 0.7]
    assert set(patches.values("filepath")) == set(audit.select_group_slices(
        "anon_pixelate").values("filepath"))  # cut from the anonymized images


def test_audit_panel_on_a_dataset_without_runs_says_what_to_run(dataset):
    state, _, _ = call_panel("anonymization_audit", dataset, "on_load")
    assert state["table"][0]["field"] == "original" and "Anonymize faces" in state["message"]


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
