"""Cityscapes and COCO round trips: annotations byte for byte, changes only inside face masks,
verification that catches tampering, resume, and every safety refusal."""

import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.cli import main as cli
from ldfa.converters import export as export_module
from ldfa.converters.cityscapes import import_cityscapes
from ldfa.converters.coco import import_coco
from ldfa.converters.export import export_anonymized
from ldfa.converters.verify import verify_export
from ldfa.plugin.errors import ConfigError, OutputError
from ldfa.plugin.geometry.boxes import from_pixels, to_pixels
from ldfa.plugin.geometry.polygons import plates_from_polylines
from ldfa.plugin.pipeline import anonymize_dataset

CITIES = {"train": ["aachen", "bochum"], "val": ["frankfurt"]}
FACE = [0.4, 0.3, 0.1, 0.25]  # one synthetic face box per image
PLATE_STEM, PLATE_CAR, PLATE = "aachen_000000_000000", (4, 30, 40, 24), (18, 46, 12, 4)  # one car's plate (px)


def polygons(label_boxes, w=128, h=64):
    return {"imgHeight": h, "imgWidth": w, "objects": [
        {"label": label, "polygon": [[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]]}
        for label, (x, y, bw, bh) in label_boxes]}


@pytest.fixture
def cityscapes_root(tmp_path):
    """A small Cityscapes tree: 2 splits, 3 cities, every annotation kind (a car's licence plate
    once), an extra, a bad file."""
    root = tmp_path / "cityscapes"
    rng = np.random.default_rng(0)
    for split, cities in CITIES.items():
        for city in cities:
            for n in range(2):
                stem = f"{city}_000000_00000{n}"
                img = root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
                img.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 255, (64, 128, 3), dtype=np.uint8)).save(img)
                gt = root / "gtFine" / split / city
                gt.mkdir(parents=True, exist_ok=True)
                plate = [("car", PLATE_CAR), ("license plate", PLATE)] if stem == PLATE_STEM else []
                (gt / f"{stem}_gtFine_polygons.json").write_text(
                    json.dumps(polygons([("road", (0, 40, 128, 24)), ("person", (50, 20, 12, 30)), *plate])))
                for kind in ("labelIds", "instanceIds", "color"):
                    labels = rng.integers(0, 30, (64, 128), dtype=np.uint8)
                    Image.fromarray(labels).save(gt / f"{stem}_gtFine_{kind}.png")
                coarse = root / "gtCoarse" / split / city
                coarse.mkdir(parents=True, exist_ok=True)
                (coarse / f"{stem}_gtCoarse_polygons.json").write_text(json.dumps(polygons([("car", (5, 5, 30, 20))])))
                persons = root / "gtBboxCityPersons" / split / city
                persons.mkdir(parents=True, exist_ok=True)
                (persons / f"{stem}_gtBboxCityPersons.json").write_text(json.dumps({
                    "imgHeight": 64, "imgWidth": 128,
                    "objects": [{"label": "pedestrian", "bbox": [50, 20, 12, 30], "bboxVis": [50, 20, 12, 30]}]}))
    (root / "README").write_text("extra file that must come back untouched\n")
    (root / "gtCoarse/val/frankfurt/frankfurt_000000_000000_gtCoarse_polygons.json").write_text("{not json")
    return root


def with_faces(dataset):
    """Synthetic faces (a field like `ldfa.detect_faces` writes) so tests need no real face."""
    import fiftyone as fo

    dataset.set_values("faces", [fo.Detections(detections=[fo.Detection(label="face", bounding_box=FACE)])
                                 for _ in range(len(dataset))])
    return dataset


def test_cityscapes_import_reads_every_annotation_kind_and_reports_bad_files(dataset, cityscapes_root):
    report = import_cityscapes(cityscapes_root, dataset, progress=False)
    assert report["images"] == 6
    assert [p["file"] for p in report["problems"]] == [
        "gtCoarse/val/frankfurt/frankfurt_000000_000000_gtCoarse_polygons.json"]
    sample = dataset.match({"city": "bochum"}).first()
    assert sample.split == "train" and sample.relpath.startswith("leftImg8bit/train/bochum/")
    assert [p.label for p in sample.gt_fine.polylines] == ["road", "person"]
    assert sample.persons.detections[0].bounding_box == [50 / 128, 20 / 64, 12 / 128, 30 / 64]
    assert sample.gt_fine_label_ids.mask_path.endswith("_gtFine_labelIds.png")
    assert len(dataset.exists("gt_coarse")) == 5
    assert import_cityscapes(cityscapes_root, dataset, progress=False)["images"] == 0  # no duplicates


def test_cityscapes_licence_plate_polygons_are_kept_and_named_as_the_datasets_own_plates(dataset, cityscapes_root):
    import_cityscapes(cityscapes_root, dataset, progress=False)
    assert dataset.info["ldfa_source"]["plates_fields"] == ["gt_fine"]  # gt_coarse holds cars, no plate
    sample = dataset.match({"relpath": {"$regex": PLATE_STEM}}).first()
    assert [p.label for p in sample.gt_fine.polylines] == ["road", "person", "car", "license plate"]
    [box] = plates_from_polylines(sample.gt_fine)
    assert box == pytest.approx(from_pixels(*PLATE, 128, 64))
    assert sum(len(plates_from_polylines(g)) for g in dataset.values("gt_fine")) == 1


def test_cityscapes_export_gives_back_the_tree_with_only_face_pixels_changed(
    dataset, cityscapes_root, tmp_path
):
    from cityscapesscripts.preparation.json2labelImg import json2labelImg

    import_cityscapes(cityscapes_root, dataset, progress=False)
    with_faces(dataset)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "anon", progress=False)
    out = tmp_path / "export"
    summary = export_anonymized(dataset, "anon_solid", out, progress=False)
    assert (summary["anonymized"], summary["without_faces"], summary["skipped"]) == (6, 0, [])

    source_files = sorted(p.relative_to(cityscapes_root) for p in cityscapes_root.rglob("*") if p.is_file())
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == source_files
    for rel in source_files:
        same = (cityscapes_root / rel).read_bytes() == (out / rel).read_bytes()
        assert same == (not rel.name.endswith("_leftImg8bit.png")), rel
    assert not (out / "ldfa-manifest.json").exists() and (tmp_path / "export.ldfa-manifest.json").is_file()

    result = verify_export(cityscapes_root, out, progress=False)
    assert result["ok"], result["problems"]
    assert (result["anonymized_images"], result["changed_outside_masks"]) == (6, 0.0)
    # every check says what it measured and the rule it must meet
    assert [c["ok"] for c in result["checks"]] == [True, True, True, True]
    assert "0 %" in result["checks"][2]["rule"] and "JPEG: mean change <= 3" in result["checks"][2]["rule"]

    # cityscapesscripts' own tool reads the export exactly as it reads the original (a plate's polygon too).
    for rel in ("gtFine/val/frankfurt/frankfurt_000000_000001_gtFine_polygons.json",
                f"gtFine/train/aachen/{PLATE_STEM}_gtFine_polygons.json"):
        json2labelImg(str(cityscapes_root / rel), str(tmp_path / "a.png"), "ids")
        json2labelImg(str(out / rel), str(tmp_path / "b.png"), "ids")
        assert (np.asarray(Image.open(tmp_path / "a.png")) == np.asarray(Image.open(tmp_path / "b.png"))).all()


def test_verify_export_catches_changed_annotations_pixels_and_extra_files(
    dataset, cityscapes_root, tmp_path, capsys
):
    import_cityscapes(cityscapes_root, dataset, progress=False)
    with_faces(dataset)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "anon", progress=False)
    out = tmp_path / "export"
    export_anonymized(dataset, "anon_pixelate", out, link=True, progress=False)
    assert cli(["verify-export", str(cityscapes_root), str(out), "--json"]) == 0
    capsys.readouterr()

    gt = out / "gtFine/train/aachen/aachen_000000_000000_gtFine_polygons.json"
    gt.unlink()  # a hard link: replace it rather than edit the source through it
    gt.write_text(json.dumps(polygons([("road", (0, 40, 128, 23))])))
    image = out / "leftImg8bit/val/frankfurt/frankfurt_000000_000001_leftImg8bit.png"
    pixels = np.asarray(Image.open(image)).copy()
    pixels[0, 0] = 255 - pixels[0, 0]  # outside the face mask
    Image.fromarray(pixels).save(image)
    (out / "stray.txt").write_text("not in the source")
    assert cli(["verify-export", str(cityscapes_root), str(out), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert any("gtFine/train/aachen" in p and "differs" in p for p in problems)
    assert any("frankfurt_000000_000001" in p and "outside the face masks" in p for p in problems)
    assert any("stray.txt" in p for p in problems)


def test_verify_export_fails_an_anonymized_image_that_carries_a_thumbnail(
    dataset, cityscapes_root, tmp_path, exif_with_previews
):
    labels = cityscapes_root / "gtFine/train/aachen/aachen_000000_000000_gtFine_labelIds.png"
    with Image.open(labels) as img:  # a copied file with a thumbnail: reported, never failed
        img.save(labels, exif=exif_with_previews(img))
    import_cityscapes(cityscapes_root, dataset, progress=False)
    with_faces(dataset)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "anon", progress=False)
    out = tmp_path / "export"
    export_anonymized(dataset, "anon_solid", out, progress=False)
    result = verify_export(cityscapes_root, out, progress=False)
    assert result["ok"], result["problems"]
    assert result["embedded_images"] == {"anonymized": [], "unchanged": [str(labels.relative_to(cityscapes_root))]}

    rel = "leftImg8bit/val/frankfurt/frankfurt_000000_000001_leftImg8bit.png"
    with Image.open(cityscapes_root / rel) as original, Image.open(out / rel) as anonymized:
        anonymized.load()
        anonymized.save(out / rel, exif=exif_with_previews(original))  # same pixels, the original inside
    result = verify_export(cityscapes_root, out, progress=False)
    assert not result["ok"] and [c["ok"] for c in result["checks"]] == [True, True, True, False]
    assert result["checks"][3]["value"] == "1 anonymized image(s) carry one; 1 file(s) copied unchanged do"
    assert result["problems"] == [f"{rel}: anonymized, yet its metadata carries PNG eXIf chunk: EXIF "
                                  "thumbnail (IFD1); PNG eXIf chunk: 1 embedded image(s)"]


def test_export_resumes_after_an_interruption(dataset, cityscapes_root, tmp_path, monkeypatch):
    import_cityscapes(cityscapes_root, dataset, progress=False)
    with_faces(dataset)
    ldfa.anonymize_faces(dataset, method="gauss", output_dir=tmp_path / "anon", progress=False)
    real_copy, copies = export_module.copy_atomic, []

    def dies_after_five(*args, **kwargs):
        if len(copies) == 5:
            raise KeyboardInterrupt
        copies.append(args)
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(export_module, "copy_atomic", dies_after_five)
    out = tmp_path / "export"
    with pytest.raises(KeyboardInterrupt):
        export_anonymized(dataset, "anon_gauss", out, progress=False)
    assert not verify_export(cityscapes_root, out, progress=False)["ok"]  # incomplete, says so
    monkeypatch.setattr(export_module, "copy_atomic", real_copy)
    export_anonymized(dataset, "anon_gauss", out, progress=False)
    assert verify_export(cityscapes_root, out, progress=False)["ok"]


def test_safety_refusals(dataset, cityscapes_root, tmp_path):
    import_cityscapes(cityscapes_root, dataset, progress=False)
    with_faces(dataset)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "anon", progress=False)
    with pytest.raises(OutputError, match="inside the source tree"):
        export_anonymized(dataset, "anon_solid", cityscapes_root / "export", progress=False)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("user data")
    with pytest.raises(OutputError, match="not empty"):
        export_anonymized(dataset, "anon_solid", busy, progress=False)
    assert (busy / "keep.txt").exists()
    export_anonymized(dataset, "anon_solid", busy, overwrite=True, progress=False)
    assert not (busy / "keep.txt").exists() and verify_export(cityscapes_root, busy, progress=False)["ok"]

    images = tmp_path / "coco" / "images"
    images.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "outside.jpg")
    os.symlink(tmp_path / "outside.jpg", images / "link.jpg")
    for name, why in (("../outside.jpg", "escapes"), (str(tmp_path / "outside.jpg"), "escapes"),
                      ("link.jpg", "symlink")):
        ann = tmp_path / "coco" / "ann.json"
        ann.write_text(json.dumps({"images": [{"id": 1, "file_name": name, "width": 8, "height": 8}],
                                   "annotations": [], "categories": []}))
        with pytest.raises(ConfigError, match=why):
            import_coco(images, ann, dataset, progress=False)


def test_an_export_is_the_whole_tree_but_photos_never_anonymized(fo, dataset, cityscapes_root, tmp_path, capsys):
    """Stereo right frames and an image without faces: the former are photos the dataset does
    not hold (left out, listed), the latter is exported but not counted as anonymized."""
    right = cityscapes_root / "rightImg8bit/val/frankfurt/frankfurt_000000_000000_rightImg8bit.png"
    right.parent.mkdir(parents=True)
    Image.new("RGB", (128, 64), (200, 10, 10)).save(right)
    import_cityscapes(cityscapes_root, dataset, progress=False)
    with_faces(dataset)
    first = dataset.first()
    first["faces"] = fo.Detections()  # a frame without faces
    first.save()
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "anon", progress=False)
    out = tmp_path / "export"
    summary = export_anonymized(dataset, "anon_pixelate", out, progress=False)
    assert (summary["anonymized"], summary["without_faces"]) == (5, 1)
    [left_out] = summary["skipped"]
    assert left_out["file"].startswith("rightImg8bit/") and "never anonymized" in left_out["reason"]
    assert not (out / left_out["file"]).exists()
    assert cli(["verify-export", str(cityscapes_root), str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 left out, 0 unaccounted (rule: 0 unaccounted)" in text
    assert "(rule: lossless images: 0 %; JPEG: mean change <= 3 (re-encoding))" in text


def test_verify_export_explains_bad_arguments_in_one_line(cityscapes_root, tmp_path, capsys):
    assert cli(["verify-export", str(tmp_path / "nonexistent"), str(cityscapes_root)]) == 2
    assert capsys.readouterr().err.strip() == f"ldfa: error: source {tmp_path / 'nonexistent'} is not a folder"
    assert cli(["verify-export", str(cityscapes_root), str(cityscapes_root)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not an ldfa export" in err and "\n" not in err


def test_coco_round_trip_keeps_the_json_verbatim(fo, shared_data, tmp_path):
    source = tmp_path / "coco"
    shutil.copytree(shared_data / "coco-mini", source)
    out = tmp_path / "export"
    result = anonymize_dataset("coco", source, out, method="pixelate", dataset_name="coco-round-trip",
                               annotations=str(source / "test_coco.json"), progress=False)
    assert result["verified"]["ok"], result["verified"]["problems"]
    for name in ("test_coco.json", "test_coco_wholebody.json"):  # every file of the tree comes back
        assert (out / name).read_bytes() == (source / name).read_bytes()
    for image in source.glob("*.jpg"):
        with Image.open(image) as a, Image.open(out / image.name) as b:
            assert (a.size, a.mode) == (b.size, b.mode)
    dataset = fo.load_dataset("coco-round-trip")
    assert dataset.count("ground_truth.detections") == 14 and dataset.count("faces.detections") > 0
    export_anonymized(dataset, "anon_pixelate", tmp_path / "with-faces", faces_coco=True, progress=False)
    faces = json.loads((tmp_path / "with-faces" / "ldfa_faces.json").read_text())
    assert len(faces["annotations"]) == dataset.count("faces.detections")
    assert {i["id"] for i in faces["images"]} == set(dataset.values("coco_id"))
    by_image = {i["id"]: i for i in faces["images"]}
    written = [(a["image_id"], a["bbox"]) for a in faces["annotations"]]
    expected = []
    for coco_id, path, found in zip(*dataset.values(["coco_id", "filepath", "faces"])):
        with Image.open(path) as img:
            assert (by_image[coco_id]["width"], by_image[coco_id]["height"]) == img.size  # no EXIF here
        expected += [(coco_id, to_pixels(d.bounding_box, *img.size)) for d in found.detections]
    assert written == expected
    dataset.delete()


def test_ldfa_run_cityscapes_then_resume(fo, shared_data, tmp_path, capsys):
    out = tmp_path / "export"
    args = ["run", "cityscapes", str(shared_data / "cityscapes-mini"), "--output", str(out),
            "--method", "pixelate", "--dataset", "run-cityscapes", "--json"]
    assert cli(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["verified"]["ok"] and first["imported"]["images"] == 1
    assert cli(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["imported"]["images"] == 0
    assert again["detected"] == {"images": 0, "already_detected": 1, "media": "image"}
    assert again["anonymized"]["resumed"] == 1 and again["verified"]["ok"]
    fo.load_dataset("run-cityscapes").delete()


@pytest.mark.slow
def test_ldfa_run_detects_a_cityscapes_root_and_format_overrides(fo, cityscapes_root, tmp_path, capsys):
    def run(*words, out):
        assert cli(["run", *words, "--output", str(tmp_path / out), "--method", "pixelate",
                    "--dataset", f"run-{out}", "--no-people", "--json"]) == 0
        fo.load_dataset(f"run-{out}").delete()
        return json.loads(capsys.readouterr().out)

    detected = run(str(cityscapes_root), out="detected")
    assert detected["format"] == "cityscapes" and detected["ok"] and detected["imported"]["images"] == 6
    assert run("cityscapes", str(cityscapes_root), out="named")["format"] == "cityscapes"  # old spelling
    forced = run(str(cityscapes_root), "--format", "folder", out="folder")  # every PNG is a photo
    assert forced["format"] == "folder" and forced["ok"] and forced["imported"]["images"] == 24


def test_import_and_export_operators(fo, cityscapes_root, tmp_path):
    import fiftyone.operators as foo

    result = foo.get_operator("@ldfa/anonymization/import_dataset")(
        cityscapes_root, "op-import", format="cityscapes")
    assert result.error is None, result.error
    dataset = fo.load_dataset("op-import")
    assert len(dataset) == 6
    with_faces(dataset)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "anon", progress=False)
    out = tmp_path / "export"
    result = foo.get_operator("@ldfa/anonymization/export_anonymized_dataset")(dataset, "anon_pixelate", out)
    assert result.error is None, result.error
    assert verify_export(cityscapes_root, out, progress=False)["ok"]
    dataset.delete()
