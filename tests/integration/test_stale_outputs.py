"""No face survives a rerun: an output made from other faces than the dataset holds now is
stale, and anonymize redoes it, evaluate and the audit count it, export refuses it. And where
the images live never makes a dataset impossible to anonymize."""

import json

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.cli import main as cli
from ldfa.plugin.freshness import stale_samples
from ldfa.plugin.geometry.masks import face_region


def assert_every_face_filled(dataset, field="anon_solid"):
    """Every pixel of every face box of every sample is the solid fill in its output (exactly in
    a PNG; within JPEG's re-encoding noise in a JPEG)."""
    for path, faces in zip(*dataset.values([field, "faces"])):
        pixels = np.asarray(Image.open(path).convert("RGB"))
        height, width = pixels.shape[:2]
        for face in faces.detections:
            x1, y1, x2, y2 = face_region(width, height, face.bounding_box)
            noise = 24 if path.endswith(".jpg") else 0
            assert (pixels[y1:y2, x1:x2] <= noise).all(), (path, face.bounding_box)


def photo_folder(folder, sample_photos):
    folder.mkdir(parents=True)
    for photo in sample_photos:
        (folder / photo.name).write_bytes(photo.read_bytes())
    return folder


def test_a_rerun_after_detecting_again_replaces_every_face(fo, sample_photos, tmp_path, capsys):
    """The issue's sequence: a first detection that misses a face, anonymize, detect again
    (the face is found), anonymize again: the image is redone, not taken as finished."""
    photos = photo_folder(tmp_path / "photos", sample_photos)
    out = tmp_path / "out"
    anonymize = ["anonymize", "--dataset", "rerun", "--method", "solid", "--output-dir", str(out), "--json"]
    assert cli(["detect", "--dataset", "rerun", "--images", str(photos), "--json"]) == 0
    dataset = fo.load_dataset("rerun")
    first = dataset.first()
    missed = first.faces.detections
    first.faces.detections = []  # as a stricter first detection would have left it
    first.save()
    capsys.readouterr()
    assert cli(anonymize) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 1
    assert stale_samples(dataset, "anon_solid") == []

    first.faces.detections = missed  # detecting again finds it
    first.save()
    assert stale_samples(dataset, "anon_solid") == [first.id]
    assert cli(anonymize) == 0
    again = json.loads(capsys.readouterr().out)
    # one image redone, one resumed; the resumed image's faces are counted too
    assert (again["written"], again["resumed"], again["faces"]) == (1, 1, 2)
    assert again["output_dir"] == str(out)
    assert_every_face_filled(dataset)
    assert stale_samples(dataset, "anon_solid") == []

    dataset.delete()


def test_an_edited_or_added_box_makes_the_image_stale_until_redone_with_the_same_seeds(
    fo, dataset, sample_photos, tmp_path
):
    dataset.add_samples([fo.Sample(filepath=str(p)) for p in sample_photos])
    ldfa.detect_faces(dataset, progress=False)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "solid", progress=False)
    ldfa.anonymize_faces(dataset, method="gauss", output_dir=tmp_path / "gauss", progress=False)
    png = dataset.first()
    seed = png.faces.detections[0]["anon_gauss_seed"]

    # a face added by a script, first in the list: both versions are stale until redone
    png.faces.detections.insert(0, fo.Detection(label="face", bounding_box=[0.02, 0.02, 0.08, 0.08]))
    png.save()
    assert stale_samples(dataset, "anon_solid") == stale_samples(dataset, "anon_gauss") == [png.id]
    redo = ldfa.anonymize_faces(dataset, method="gauss", output_dir=tmp_path / "gauss", progress=False)
    assert (redo.written, redo.resumed) == (1, 1) and stale_samples(dataset, "anon_gauss") == []
    png.reload()
    assert png.faces.detections[1]["anon_gauss_seed"] == seed  # the unchanged face keeps its seed

    # a box widened in the App
    face = png.faces.detections[1]
    x, y, w, h = face.bounding_box
    face.bounding_box = [x - w / 4, y, w * 1.25, h]
    png.save()
    assert stale_samples(dataset, "anon_gauss") == [png.id]
    redo = ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "solid", progress=False)
    assert (redo.written, redo.resumed) == (1, 1)
    assert_every_face_filled(dataset)

    # a review that redoes a face records what the image is made from now
    ldfa.reanonymize_faces(dataset, "anon_gauss", [png.faces.detections[0].id], progress=False)
    assert stale_samples(dataset, "anon_gauss") == []


@pytest.mark.slow
def test_export_refuses_stale_images_and_evaluate_and_the_audit_count_them(fo, sample_photos, tmp_path, capsys):
    from ldfa.operators.panel_tables import table_rows

    photos = photo_folder(tmp_path / "photos", sample_photos)
    assert cli(["run", str(photos), "--output", str(tmp_path / "export"), "--method", "solid",
                "--dataset", "stale-export"]) == 0
    dataset = fo.load_dataset("stale-export")
    sample = dataset.first()
    sample.faces.detections.append(fo.Detection(label="face", bounding_box=[0.02, 0.02, 0.1, 0.1]))
    sample.save()
    capsys.readouterr()

    assert cli(["export", "--dataset", "stale-export", "--field", "anon_solid",
                "--output", str(tmp_path / "again")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 image(s) of 'anon_solid' are stale" in err[0]
    assert "ldfa anonymize --dataset stale-export --method solid --field anon_solid" in err[0]
    assert not (tmp_path / "again").exists()

    assert cli(["evaluate", "--dataset", "stale-export", "--field", "anon_solid", "--embedders", "dlib",
                "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stale"] == 1
    assert {r["field"]: r["stale"] for r in table_rows(dataset)} == {"original": None, "anon_solid": 1}

    # `ldfa run` again redoes the stale image, then exports and verifies
    assert cli(["run", str(photos), "--output", str(tmp_path / "export"), "--method", "solid",
                "--dataset", "stale-export", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["anonymized"]["written"] == 1 and result["verified"]["ok"]
    assert_every_face_filled(dataset)
    dataset.delete()


def test_images_in_unrelated_folders_are_mirrored_by_their_whole_path(fo, dataset, sample_photos, tmp_path):
    """Images in /…/one/a and /…/two/b: the output mirrors each below the deepest folder holding
    both, wherever the output is, as long as it holds no image and lies in no image folder."""
    png, jpg = sample_photos
    a, b = tmp_path / "one" / "a", tmp_path / "two" / "b"
    for folder, photo in ((a, png), (b, jpg)):
        folder.mkdir(parents=True)
        (folder / photo.name).write_bytes(photo.read_bytes())
    dataset.add_samples([fo.Sample(filepath=str(a / png.name)), fo.Sample(filepath=str(b / jpg.name))])
    ldfa.detect_faces(dataset, progress=False)
    out = tmp_path / "out"  # inside the folder holding both: refused before
    ldfa.anonymize_faces(dataset, method="solid", output_dir=out, progress=False)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.*")) == [
        f"one/a/{png.name}", f"two/b/{jpg.name}"]
    assert_every_face_filled(dataset)

    for unsafe, why in ((a / "anon", "inside"), (tmp_path / "one", "holds the images' folder")):
        with pytest.raises(ldfa.LdfaError, match=why):
            ldfa.anonymize_faces(dataset, method="pixelate", output_dir=unsafe, progress=False)


def test_images_whose_only_common_folder_is_the_root_need_an_output_folder(fo, dataset, sample_photos):
    dataset.add_samples([fo.Sample(filepath=str(sample_photos[0])),
                         fo.Sample(filepath="/proc/self/ldfa-not-here.jpg")])
    ldfa.detect_faces(dataset, progress=False)
    with pytest.raises(ldfa.LdfaError, match="unrelated folders"):
        ldfa.anonymize_faces(dataset, method="solid", progress=False)


def test_an_output_folder_below_the_images_folder_is_never_imported_as_images(fo, sample_photos, tmp_path, capsys):
    photos = tmp_path / "photos"
    for sub, photo in zip(("a", "b"), sample_photos):
        photo_folder(photos / sub, [photo])
    detect = ["detect", "--dataset", "below", "--images", str(photos), "--json"]
    assert cli(detect) == 0
    assert cli(["anonymize", "--dataset", "below", "--method", "solid", "--output-dir",
                str(photos / "anon")]) == 0
    capsys.readouterr()
    assert cli(detect) == 0
    added = json.loads(capsys.readouterr().out)["images_added"]
    assert (added["added"], added["outputs_left_out"]) == (0, 2)
    assert len(fo.load_dataset("below")) == 2
    fo.load_dataset("below").delete()
