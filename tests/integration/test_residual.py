"""Residual similarity on real photos: 1 where the original pixels remain, 0 where none do."""

from __future__ import annotations

import pytest
from PIL import Image

from ldfa.plugin.metrics.face_sizes import bucket
from ldfa.plugin.runs import run_results
from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, TINY_FACE


@pytest.fixture
def photos(dataset, sample_photos, tmp_path):
    """The astronaut (a large and a tiny face) and Grace Hopper (one face), three ways
    anonymized: solid, gauss, and pixelate with 1-px blocks (every pixel kept as it was)."""
    import fiftyone as fo

    import ldfa

    def faces(*boxes):
        return fo.Detections(detections=[fo.Detection(label="face", bounding_box=list(b)) for b in boxes])

    png, jpg = sample_photos
    dataset.add_samples([fo.Sample(filepath=str(png), faces=faces(ASTRONAUT_FACE, TINY_FACE)),
                         fo.Sample(filepath=str(jpg), faces=faces(HOPPER_FACE))])
    for method, params in (("solid", {}), ("gauss", {}),
                           ("pixelate", {"pixel_blocks": 10_000, "pixel_block_min_px": 1})):
        ldfa.anonymize_faces(dataset, method=method, output_dir=tmp_path / method, progress=False,
                             **params)
    return dataset


def residuals(dataset, field):
    from ldfa.plugin.metrics.residual import compute_residual_similarity

    compute_residual_similarity(dataset, field, progress=False)
    return dataset.values(f"faces.detections.{field}_residual", unwind=True)


def test_a_face_against_itself_is_one_and_a_solid_fill_zero(photos):
    assert residuals(photos, "original") == pytest.approx([1.0, 1.0, 1.0], abs=1e-9)
    assert residuals(photos, "anon_solid") == [0.0, 0.0, 0.0]  # nothing of the face is left


def test_unchanged_pixels_are_found_and_a_blur_keeps_little(photos):
    assert residuals(photos, "anon_pixelate") == pytest.approx([1.0, 1.0, 1.0], abs=0.02)
    large, _, hopper = residuals(photos, "anon_gauss")
    assert large < 0.9 and hopper < 0.9  # measured 0.79 and 0.74: a blur keeps the coarse shading


def test_run_results_by_face_size(photos):
    residuals(photos, "anon_solid")
    results = run_results(photos, "ldfa_residual_anon_solid")
    sizes = []
    for sample in photos:
        width, height = Image.open(sample.filepath).size
        sizes += [bucket(min(d.bounding_box[2] * width, d.bounding_box[3] * height))
                  for d in sample.faces.detections]
    assert sizes == [">32", "<16", ">32"]  # the tiny face is ~15 px
    assert results["faces"] == 3 and results["mean"] == 0.0 and results["p95"] == 0.0
    assert results["by_size"]["<16"]["faces"] == 1 and results["by_size"][">32"]["faces"] == 2
    assert results["by_size"]["16-32"] == {"faces": 0, "measured": 0, "mean": None,
                                           "median": None, "p95": None}


def test_a_uniform_original_has_no_residual_and_says_why(dataset, sample_photos, tmp_path):
    import fiftyone as fo
    import numpy as np

    image = np.asarray(Image.open(sample_photos[0])).copy()
    image[40:120, 400:480] = (90, 120, 200)  # a flat patch where the "face" box lies
    path = tmp_path / "flat.png"
    Image.fromarray(image).save(path)
    box = [400 / 512, 40 / 512, 80 / 512, 80 / 512]
    dataset.add_sample(fo.Sample(filepath=str(path), faces=fo.Detections(
        detections=[fo.Detection(label="face", bounding_box=box)])))
    assert residuals(dataset, "original") == [None]
    [reason] = dataset.values("faces.detections.original_residual_reason", unwind=True)
    assert reason == "original face box is uniform: no face texture to compare"


def test_an_unreadable_original_is_a_reason_for_every_metric_not_a_crash(dataset, sample_photos, tmp_path):
    """An image whose anonymization failed (it cannot be read) still has its faces: each metric
    gives them a reason and counts them, in no size bucket, and measures the other images."""
    import fiftyone as fo

    import ldfa

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a PNG")
    faces = fo.Detections(detections=[fo.Detection(label="face", bounding_box=list(HOPPER_FACE))])
    dataset.add_samples([fo.Sample(filepath=str(broken), faces=faces),
                         fo.Sample(filepath=str(sample_photos[1]), faces=faces.copy())])
    residual = ldfa.compute_residual_similarity(dataset, "original", progress=False)
    identity = ldfa.compute_identity_distance(dataset, "original", embedders=["dlib"], progress=False)
    attributes = ldfa.compute_attribute_differences(dataset, "original", progress=False)
    assert (residual["faces"], residual["measured"]) == (2, 1)
    assert (identity["dlib"]["faces"], identity["dlib"]["measured"], identity["dlib"]["not_measurable"]) == (2, 1, 1)
    assert (attributes["faces"], attributes["measured"], attributes["not_measurable"]) == (2, 1, 1)
    for results in (residual, identity["dlib"], attributes):
        assert sum(results["by_size"][b]["faces"] for b in results["by_size"]) == 1
    for reason in ("original_residual_reason", "original_dlib_reason", "original_attributes_reason"):
        first, second = dataset.values(f"faces.detections.{reason}", unwind=True)
        assert first.startswith("original unreadable (not an image file PIL can read)") and second is None


def test_residual_alone_sets_the_review_status_of_faces_no_model_has_judged(photos):
    """Before any identity model has judged them, what remains decides: kept pixels are at
    risk, a solid fill leaves nothing to recognise (not measurable, not thereby replaced)."""
    from ldfa.plugin.metrics.verdict import RESIDUAL_AT_RISK

    residuals(photos, "anon_pixelate")
    residuals(photos, "anon_solid")
    assert photos.values("faces.detections.anon_pixelate_status", unwind=True) == ["at_risk"] * 3
    assert photos.values("faces.detections.anon_solid_status", unwind=True) == ["not_measurable"] * 3
    kept = residuals(photos, "anon_gauss")
    assert photos.values("faces.detections.anon_gauss_status", unwind=True) == [
        "at_risk" if r >= RESIDUAL_AT_RISK else "not_measurable" for r in kept]
