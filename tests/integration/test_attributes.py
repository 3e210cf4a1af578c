"""Attribute differences on real photos: MediaPipe's face mesh, read with LiteRT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ldfa.plugin.metrics.attributes_core import MIN_FACE_PX, attributes_of, differences
from ldfa.plugin.models.face_mesh import load_face_mesh
from ldfa.plugin.runs import run_results
from ldfa.plugin.schema import ATTRIBUTE_DIFFS, attribute_diff, attribute_reason
from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, TINY_FACE, face_labels


def _flipped(image, box, eyes):
    """The photo mirrored left-right, with its face box and eyes (image-left first) mirrored."""
    width = image.shape[1]
    box = np.array([width - box[2], box[1], width - box[0], box[3]])
    eyes = np.array([[width - eyes[1][0], eyes[1][1]], [width - eyes[0][0], eyes[0][1]]])
    return np.ascontiguousarray(image[:, ::-1]), box, eyes


@pytest.fixture(scope="module")
def identity_photos(shared_data):
    from ldfa_testing.identities import load_photos

    return [p for p in load_photos(shared_data / "identities", per_identity=3) if p.face.size >= 64]


def test_a_face_compared_with_itself_differs_by_nothing(identity_photos):
    mesh = load_face_mesh()
    for photo in identity_photos[:6]:
        found = mesh.locate(photo.image, photo.face.box, photo.face.landmarks[:2])
        assert found.found and found.points.shape == (468, 3) and found.pupils.shape == (2, 2)
        again = mesh.read(photo.image.copy(), found.roi)
        assert all(v == 0.0 for v in differences(found, again).values())


def test_a_mirrored_face_turns_the_other_way(identity_photos):
    """Yaw and roll change sign under a left-right mirror; pitch stays; the yaw difference
    (mirror minus original) has the opposite sign of the original's yaw."""
    mesh = load_face_mesh()
    turned = 0
    for photo in identity_photos:
        original = mesh.locate(photo.image, photo.face.box, photo.face.landmarks[:2])
        mirrored = mesh.locate(*_flipped(photo.image, photo.face.box, photo.face.landmarks[:2]))
        a, b = attributes_of(original.points), attributes_of(mirrored.points)
        assert b.pitch == pytest.approx(a.pitch, abs=3.0)
        if abs(a.yaw) >= 8:  # clearly turned: the sign is not noise (mirror pairs agree within ~3 deg)
            turned += 1
            assert np.sign(b.yaw) == -np.sign(a.yaw) and abs(b.yaw + a.yaw) < 5
            assert np.sign(differences(original, mirrored)["yaw_diff"]) == -np.sign(a.yaw)
    assert turned >= 3


def test_pupils_lie_inside_the_eyes(identity_photos):
    mesh = load_face_mesh()
    for photo in identity_photos[:6]:
        found = mesh.locate(photo.image, photo.face.box, photo.face.landmarks[:2])
        for pupil, (outer, inner) in zip(found.pupils, ((33, 133), (263, 362))):
            a, b = found.points[outer, :2], found.points[inner, :2]
            along, across = b - a, pupil - a
            t = np.dot(across, along) / np.dot(along, along)  # from corner to corner: 0 to 1
            off = abs(along[0] * across[1] - along[1] * across[0]) / np.linalg.norm(along)
            assert 0.1 < t < 0.9 and off < 0.3 * np.linalg.norm(along)


@pytest.fixture
def photos(dataset, sample_photos, tmp_path):
    """The astronaut (a large and a tiny face) and Grace Hopper, anonymized with solid and with
    1-px pixel blocks (every pixel kept)."""
    import fiftyone as fo

    import ldfa

    png, jpg = sample_photos
    dataset.add_samples([fo.Sample(filepath=str(png), faces=face_labels(ASTRONAUT_FACE, TINY_FACE)),
                         fo.Sample(filepath=str(jpg), faces=face_labels(HOPPER_FACE))])
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "solid", progress=False)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "pix", progress=False,
                         pixel_blocks=10_000, pixel_block_min_px=1)
    return dataset


def _values(dataset, field, name):
    return dataset.values(f"faces.detections.{attribute_diff(field, name)}", unwind=True)


def test_per_face_figures_reasons_and_run_statistics(photos):
    from ldfa.plugin.metrics.attributes import compute_attribute_differences

    same = compute_attribute_differences(photos, "original", progress=False)
    assert (same["faces"], same["measured"], same["not_measurable"], same["mesh_kept"]) == (3, 2, 1, 1.0)
    for name in ATTRIBUTE_DIFFS:
        assert _values(photos, "original", name) == [0.0, None, 0.0]
    reasons = photos.values(f"faces.detections.{attribute_reason('original')}", unwind=True)
    assert reasons[0] is None and f"from {MIN_FACE_PX} px" in reasons[1]  # the ~15-px face

    kept = compute_attribute_differences(photos, "anon_pixelate", progress=False)
    # every pixel as it was, but Hopper's JPEG re-encoded: a hundredth of a degree
    assert kept["pose_diff_deg"] == pytest.approx(0.0, abs=0.1) and kept["landmark_nme"] < 0.01

    solid = compute_attribute_differences(photos, "anon_solid", progress=False)
    assert (solid["measured"], solid["no_face_left"], solid["mesh_kept"]) == (0, 2, 0.0)
    assert solid["pose_diff_deg"] is None  # no face: a reason, not a number
    reasons = photos.values(f"faces.detections.{attribute_reason('anon_solid')}", unwind=True)
    assert "finds no face in the anonymized image" in reasons[0]
    recorded = run_results(photos, "ldfa_attributes_anon_solid")
    assert recorded["by_size"][">32"]["no_face_left"] == 2 and recorded["by_size"]["<16"]["not_measurable"] == 1


def test_the_model_files_are_the_pinned_ones():
    from ldfa.plugin.io.atomic import sha256_of
    from ldfa.plugin.io.weights import packaged_file
    from ldfa.plugin.models.face_mesh import CONNECTIONS, IRIS_MODEL, MESH_MODEL, contours

    for spec in (MESH_MODEL, IRIS_MODEL, CONNECTIONS):
        assert sha256_of(Path(packaged_file(spec))) == spec.sha256
    named = contours()
    assert len(named["FACEMESH_LIPS"]) == 40 and len(named["FACEMESH_FACE_OVAL"]) == 36
