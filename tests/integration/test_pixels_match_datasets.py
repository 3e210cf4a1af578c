"""Pixels in, pixels out agree with the dataset path: ``detect_image`` finds what
``detect_faces`` stores, ``anonymize_image`` gives the bytes ``anonymize_faces`` writes."""

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.plugin.anonymization.methods import METHODS

CLASSIC = [name for name, method in METHODS.items() if not method.batched and "face" in method.kinds]


def test_detect_image_finds_what_detect_faces_stores(dataset, sample_photos):
    import fiftyone as fo

    dataset.add_samples([fo.Sample(filepath=str(p)) for p in sample_photos])
    ldfa.detect_faces(dataset, progress=False)
    for sample in dataset:
        found = ldfa.detect_image(Image.open(sample.filepath))
        assert found, f"no face in {sample.filepath}"
        stored = [d.bounding_box for d in sample.faces.detections]
        assert np.allclose([f["bounding_box"] for f in found], stored)
        assert [f["confidence"] for f in found] == [d.confidence for d in sample.faces.detections]


@pytest.mark.parametrize("method", CLASSIC)
def test_anonymize_image_gives_the_bytes_anonymize_faces_writes(dataset, sample_photos, tmp_path, method):
    import fiftyone as fo

    source = tmp_path / "src" / "astronaut.png"
    source.parent.mkdir()
    source.write_bytes(sample_photos[0].read_bytes())  # a PNG: what is written is what is computed
    sample = fo.Sample(filepath=str(source))
    dataset.add_sample(sample)
    ldfa.detect_faces(dataset, progress=False)
    ldfa.anonymize_faces(dataset, method=method, field="anon", output_dir=tmp_path / "out", progress=False)
    sample.reload()
    written = np.asarray(Image.open(sample.anon))
    faces = sample.faces.detections
    pixels = ldfa.anonymize_image(np.asarray(Image.open(source)), faces, method=method, key=sample.id)
    assert faces and pixels.dtype == written.dtype and (pixels == written).all()
    # What detect_image returns serves as faces just the same.
    found = ldfa.detect_image(np.asarray(Image.open(source)))
    assert (np.asarray(ldfa.anonymize_image(Image.open(source), found, method=method)) == written).all()
