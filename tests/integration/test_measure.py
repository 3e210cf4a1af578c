"""One pass over the pairs: identity, residual, attributes and detection measured together give
what each metric's own function gives, with each original and each anonymized image decoded once."""

from __future__ import annotations

from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, face_labels


def test_one_pass_gives_each_metrics_own_results_and_reads_each_image_once(
        dataset, sample_photos, tmp_path, monkeypatch):
    import fiftyone as fo

    import ldfa
    from ldfa.plugin.metrics import pairs
    from ldfa.plugin.metrics.measure import measure_version

    png, jpg = sample_photos
    dataset.add_samples([fo.Sample(filepath=str(png), faces=face_labels(ASTRONAUT_FACE)),
                         fo.Sample(filepath=str(jpg), faces=face_labels(HOPPER_FACE))])
    ldfa.anonymize_faces(dataset, method="gauss", output_dir=tmp_path / "gauss", progress=False)
    alone = {"identity": ldfa.compute_identity_distance(dataset, "anon_gauss", embedders=["dlib"], progress=False),
             "residual": ldfa.compute_residual_similarity(dataset, "anon_gauss", progress=False),
             "attributes": ldfa.compute_attribute_differences(dataset, "anon_gauss", progress=False),
             "detection": ldfa.evaluate_face_detection(dataset, "anon_gauss", progress=False)}
    assert alone["identity"]["dlib"]["measured"] == alone["residual"]["measured"] == 2
    assert alone["attributes"]["faces"] == alone["detection"]["faces"] == 2
    reads = []
    read_rgb = pairs.read_rgb
    monkeypatch.setattr(pairs, "read_rgb", lambda path: reads.append(path) or read_rgb(path))
    assert measure_version(dataset, "anon_gauss", embedders=["dlib"], progress=False) == alone
    assert sorted(reads) == sorted(dataset.values("filepath") + dataset.values("anon_gauss"))
