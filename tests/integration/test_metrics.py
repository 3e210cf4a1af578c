"""Identity distance, detection utility, the report and the guard on real photos."""

from __future__ import annotations

import json
import shutil

import fiftyone as fo_module
import pytest

from ldfa.plugin.metrics.evaluation import coco_scores
from ldfa.plugin.metrics.identity import recorded_config

pytestmark = pytest.mark.slow  # one fixture measures 3 methods with every model: ~40 s

CROWD_PHOTOS = ("crowds/test.jpg", "face-boxes/dlib_faces/2008_002470.jpg",
                "face-boxes/dlib_faces/Tom_Cruise_avp_2014_4.jpg")


def _box(x, y, w, h, score=None):
    return fo_module.Detection(label="face", bounding_box=[x, y, w, h], confidence=score)


def test_coco_scores_are_one_for_perfect_boxes_zero_for_none_and_split_by_size(dataset):
    dataset.add_sample(fo_module.Sample(
        filepath="/nonexistent/a.jpg",
        gt=fo_module.Detections(detections=[_box(0.1, 0.1, 0.02, 0.02), _box(0.5, 0.5, 0.3, 0.3)]),
        perfect=fo_module.Detections(detections=[_box(0.1, 0.1, 0.02, 0.02, 0.9),
                                                 _box(0.5, 0.5, 0.3, 0.3, 0.8)]),
        only_large=fo_module.Detections(detections=[_box(0.5, 0.5, 0.3, 0.3, 0.8)]),
        empty=fo_module.Detections()))
    sizes = {dataset.first().id: (1000, 1000)}  # faces of 20² (small) and 300² px (large)
    perfect = coco_scores(dataset, "gt", "perfect", sizes)
    assert perfect["mAP"] == pytest.approx(1.0) and perfect["mAP_s"] == pytest.approx(1.0)
    assert perfect["mAP_m"] is None  # no medium face: undefined, not zero
    only_large = coco_scores(dataset, "gt", "only_large", sizes)
    assert only_large["mAP_s"] == 0.0 and only_large["mAP_l"] == pytest.approx(1.0)
    assert coco_scores(dataset, "gt", "empty", sizes)["mAP"] == 0.0


@pytest.fixture(scope="module")
def anonymized(fo, shared_data, tmp_path_factory):
    """Real photos with detected faces and gauss / pixelate / solid versions."""
    from ldfa.plugin.anonymization.anonymize import anonymize_faces
    from ldfa.plugin.detection.detect import detect_faces

    src = tmp_path_factory.mktemp("photos")
    for rel in CROWD_PHOTOS:
        shutil.copy(shared_data / rel, src / rel.split("/")[-1])
    ds = fo.Dataset()
    ds.add_images_dir(str(src))
    detect_faces(ds, progress=False)
    for method in ("gauss", "pixelate", "solid"):
        anonymize_faces(ds, method=method, output_dir=tmp_path_factory.mktemp(method), progress=False)
    return ds


@pytest.fixture(scope="module")
def table(anonymized):
    from ldfa.plugin.metrics.report import comparison_table

    return {row["field"]: row for row in comparison_table(anonymized, progress=False)}


def test_report_rows_for_every_method_and_the_original(anonymized, table):
    assert set(table) == {"original", "anon_gauss", "anon_pixelate", "anon_solid"}
    faces = len(anonymized.values("faces.detections", unwind=True))
    original = table["original"]
    assert original["faces"] == faces
    for emb in ("facenet", "dlib"):
        assert original[f"{emb}_dist"] < 1e-4  # an untouched face is itself
        assert original[f"{emb}_reid"] == 1.0 and original[f"{emb}_within"] == 1.0
        # identity undefined: no face left to measure, or a face too small for the embedder
        solid = table["anon_solid"]
        assert solid[f"{emb}_no_crop"] + solid[f"{emb}_too_small"] == faces
        assert solid[f"{emb}_no_crop"] > 0 and solid[f"{emb}_dist"] is None
        assert solid[f"{emb}_reid"] == 0.0 and solid[f"{emb}_within"] == 0.0
        for field in ("anon_gauss", "anon_pixelate"):
            assert table[field][f"{emb}_dist"] > 10 * original[f"{emb}_dist"] + 0.1
    # the strictest judge: every untouched face it can judge is the same person, no solid one is
    assert original["same_person"] == 1.0 and table["anon_solid"]["same_person"] == 0.0
    # one review status per face: the counts add up to the faces; a solid fill leaves a face no
    # model judges nothing to be recognised by (not measurable), and every judged one is replaced
    for row in table.values():
        assert row["at_risk"] + row["not_measurable"] + row["replaced"] == faces
    solid = table["anon_solid"]
    assert solid["judged"] + solid["not_measurable"] == faces and solid["replaced"] == solid["judged"] > 0
    assert original["at_risk"] == faces  # every untouched face is itself
    # the reference row: a plain full-frame detector against the faces ldfa's zoom pass found
    assert original["mAP"] > 0.7 and table["anon_solid"]["mAP"] < original["mAP"]
    # what is left of the original pixels: all of it, nothing, and something in between
    assert original["residual"] == pytest.approx(1.0) and table["anon_solid"]["residual"] == 0.0
    assert 0.3 < table["anon_gauss"]["residual"] < 0.95


def test_per_face_and_per_sample_distances_are_stored_and_reasons_recorded(anonymized, table):
    dists = anonymized.values("faces.detections.anon_gauss_facenet_dist", unwind=True)
    assert dists and all(d is None or 0.0 <= d <= 2.0 for d in dists)
    reasons = anonymized.values("faces.detections.anon_solid_dlib_reason", unwind=True)
    assert "face area is a uniform fill (no face left)" in reasons
    assert all(r == "face area is a uniform fill (no face left)" or
               r.startswith("identity not measurable at this size") for r in reasons)
    sample = anonymized.match({"faces.detections": {"$ne": []}}).first()
    measured = [d.anon_gauss_dlib_dist for d in sample.faces.detections if d.anon_gauss_dlib_dist is not None]
    assert sample.anon_gauss_dlib_dist_min == pytest.approx(min(measured))
    assert anonymized.has_evaluation("eval_anon_gauss_det")  # TP/FP/FN browsable in the App
    # a face either model still puts within its threshold is at risk, whatever the other says
    verdicts, facenet, dlib = (anonymized.values(f"faces.detections.anon_gauss_{name}", unwind=True)
                               for name in ("same_person", "facenet_dist", "dlib_dist"))
    thresholds = recorded_config(anonymized, "anon_gauss").thresholds
    within = [v for v, f, d in zip(verdicts, facenet, dlib) if (f is not None and f < thresholds["facenet"])
              or (d is not None and d < thresholds["dlib"])]
    beyond = [v for v, f, d in zip(verdicts, facenet, dlib) if (f, d) != (None, None)
              and (f is None or f >= thresholds["facenet"]) and (d is None or d >= thresholds["dlib"])]
    assert within + beyond and all(v is True for v in within) and all(v is False for v in beyond)


def test_report_files_and_cli_json(anonymized, table, tmp_path, capsys):
    from ldfa.cli import main

    anonymized.persistent = True  # the CLI opens the dataset by name
    try:
        assert main(["report", "--dataset", anonymized.name, "--output", str(tmp_path), "--json"]) == 0
    finally:
        anonymized.persistent = False
    printed = json.loads(capsys.readouterr().out)
    assert {r["field"] for r in printed["rows"]} == set(table)
    for name in ("report.md", "report.csv", "report_by_size.csv", "identity_distance.png",
                 "ap_by_size.png", "attributes.png"):
        assert (tmp_path / name).stat().st_size > 100
    report = (tmp_path / "report.md").read_text()
    assert "| gauss |" in report
    # every rate beside what it counts: over the judged faces, of all the row's faces
    gauss = table["anon_gauss"]
    assert f"| {gauss['same_person']:.3f} ({gauss['judged']}/{gauss['faces']}) |" in report
    assert f"| {gauss['dlib_within']:.3f} ({gauss['dlib_judged']}/{gauss['faces']}) |" in report
    # by face size: each version once per bucket, faces adding up to the version's faces
    sizes = printed["rows_by_size"]
    assert [r["size"] for r in sizes[:3]] == ["<16", "16-32", ">32"] and len(sizes) == 3 * len(table)
    for field, row in table.items():
        assert sum(r["faces"] for r in sizes if r["field"] == field) == row["faces"]
    # the histograms share bins from 0 past the same-person threshold: every version shows
    from ldfa.plugin.metrics.report import identity_histograms

    for emb, panel in identity_histograms(anonymized, printed["rows"]).items():
        assert panel["edges"][0] == 0.0 and panel["edges"][-1] > panel["threshold"]
        for method, counts in panel["counts"].items():
            field = "original" if method == "original" else f"anon_{method}"
            measured = [v for v in anonymized.values(f"faces.detections.{field}_{emb}_dist",
                                                     unwind=True) if v is not None]
            assert counts.sum() == len(measured), (emb, method)
    # the evaluation leaves the review queues behind as saved views
    assert {"ldfa-riskiest-anon_gauss", "ldfa-lost-anon_solid", "ldfa-faces-under-32px"} <= set(
        printed["saved_views"]) and anonymized.has_saved_view("ldfa-lost-anon_solid")


def test_identity_guard_redoes_faces_within_threshold_and_tags_the_rest(anonymized, table):
    from ldfa.plugin.guard.identity import guard_identity
    from ldfa.plugin.schema import NEEDS_REVIEW

    faces = anonymized.values("faces.detections.id", unwind=True)
    one = faces[:1]
    before = anonymized.values("faces.detections.anon_pixelate_attempt", unwind=True)
    # threshold 3 > any cosine distance: FaceNet still recognises the face through every try
    result = guard_identity(anonymized, "anon_pixelate", embedders=["facenet"], thresholds={"facenet": 3.0},
                            max_tries=1, face_ids=one, progress=False)
    assert result["redone"] == 1 and result["needs_review"] == one
    after = anonymized.values("faces.detections.anon_pixelate_attempt", unwind=True)
    assert sum(a or 0 for a in after) == sum(b or 0 for b in before) + 1
    tagged = anonymized.filter_labels("faces", fo_module.ViewField("tags").contains(NEEDS_REVIEW))
    assert tagged.values("faces.detections.id", unwind=True) == one
    cleared = guard_identity(anonymized, "anon_pixelate", thresholds={"facenet": 0.0, "dlib": 0.0},
                             face_ids=one, progress=False)
    assert cleared["redone"] == 0 and cleared["needs_review"] == []
    # the strictest judge: FaceNet's "different person" does not clear a face dlib recognises
    strict = guard_identity(anonymized, "anon_pixelate", thresholds={"facenet": 0.0, "dlib": 3.0},
                            max_tries=1, face_ids=one, progress=False)
    assert strict["redone"] == 1 and strict["needs_review"] == one


def test_operators_and_evaluate_cli_run_on_the_anonymized_field(anonymized, table, capsys):
    import fiftyone.operators as foo

    from ldfa.cli import main

    uris = [op.uri for op in foo.list_operators()]
    for name in ("compute_identity_distance", "evaluate_face_detection", "guard_identity"):
        assert f"@ldfa/anonymization/{name}" in uris
    result = foo.get_operator("@ldfa/anonymization/compute_identity_distance")(
        anonymized.view(), field="anon_gauss", embedders=["dlib"])
    assert result.error is None, result.error
    assert result.result["embedders"]["dlib"]["mean"] == pytest.approx(table["anon_gauss"]["dlib_dist"])
    result = foo.get_operator("@ldfa/anonymization/evaluate_face_detection")(
        anonymized.view(), field="anon_solid")
    assert result.error is None, result.error
    assert result.result["mAP"] == pytest.approx(table["anon_solid"]["mAP"])

    anonymized.persistent = True
    try:
        assert main(["evaluate", "--dataset", anonymized.name, "--field", "anon_gauss",
                     "--embedders", "dlib", "--json"]) == 0
    finally:
        anonymized.persistent = False
    printed = json.loads(capsys.readouterr().out)
    assert printed["identity"]["dlib"]["reid_rate"] == pytest.approx(table["anon_gauss"]["dlib_reid"])
    assert printed["detection"]["faces"] == table["original"]["faces"]
    assert "ldfa-riskiest-anon_gauss" in printed["saved_views"]


def test_attributes_figure_says_there_is_nothing_to_compare_for_classic_methods(audited):
    """Solid and pixelate leave no face the mesh finds: the figure says so in words; once a
    version has a measured face, it draws the histograms instead."""
    from ldfa.plugin.metrics.attributes import compute_attribute_differences
    from ldfa.plugin.metrics.report import attributes_figure
    from ldfa.plugin.schema import attribute_diff

    rows = [{"method": "original", "field": "original"}, {"method": "solid", "field": "anon_solid"},
            {"method": "pixelate", "field": "anon_pixelate"}]
    for row in rows:
        compute_attribute_differences(audited, row["field"], faces_field="faces", progress=False)
    fig = attributes_figure(audited, rows, "faces")
    [ax] = fig.axes
    assert any("nothing to compare" in t.get_text() for t in ax.texts)

    sample = audited.first()
    sample.faces.detections[0][attribute_diff("anon_pixelate", "pose_diff_deg")] = 3.0
    sample.save()
    fig = attributes_figure(audited, rows, "faces")
    assert len(fig.axes) == 2 and not any(ax.texts for ax in fig.axes)
