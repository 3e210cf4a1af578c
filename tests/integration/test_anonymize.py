"""anonymize_faces with the classic methods: files, fields, run record, bad input, resume, CLI, operator."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ldfa
import ldfa.plugin.anonymization.faces as faces_module
from ldfa.cli import main as cli
from ldfa.plugin.errors import OutputError
from ldfa.plugin.geometry.masks import union_mask
from ldfa.plugin.io.images import read_rgb

FACE = [0.35, 0.1, 0.25, 0.3]  # roughly the astronaut's face, relative x, y, w, h
CORNER_FACE = [-0.05, 0.85, 0.2, 0.2]  # half outside the bottom-left corner


def faces(*boxes):
    import fiftyone as fo

    return fo.Detections(detections=[fo.Detection(label="face", bounding_box=list(b), confidence=0.9)
                                     for b in boxes])


def add(dataset, path, *boxes):
    import fiftyone as fo

    dataset.add_sample(fo.Sample(filepath=str(path), faces=faces(*boxes)))


@pytest.fixture
def photo_tree(tmp_path, sample_photos):
    """A source tree with a subfolder: the astronaut (PNG), Grace Hopper (JPEG), a face-free PNG."""
    root = tmp_path / "src"
    (root / "a" / "b").mkdir(parents=True)
    png, jpg = root / "a" / "astronaut.png", root / "a" / "b" / "grace_hopper.jpg"
    png.write_bytes(sample_photos[0].read_bytes())
    jpg.write_bytes(sample_photos[1].read_bytes())
    empty = root / "empty.png"
    Image.new("RGB", (40, 30), (10, 20, 30)).save(empty)
    return root, png, jpg, empty


def assert_only_masks_changed(source, output, boxes, grow=1.0, ellipse=False, fade_px=4):
    """Every pixel outside the faces' union mask (the default 4-px blend ring included) is the
    source's; the masks did change."""
    before, after = np.asarray(Image.open(source)), np.asarray(Image.open(output))
    assert before.shape == after.shape and before.dtype == after.dtype
    height, width = before.shape[:2]
    mask = union_mask(width, height, boxes, grow=grow, ellipse=ellipse, fade_px=fade_px)
    assert (before[~mask] == after[~mask]).all()
    assert (before[mask] != after[mask]).any()


@pytest.mark.parametrize("method", ["pixelate", "gauss", "solid"])
def test_classic_methods_write_a_complete_copy_changing_only_masked_pixels(
    dataset, photo_tree, tmp_path, sample_photos, method
):
    root, png, jpg, empty = photo_tree
    add(dataset, png, FACE, CORNER_FACE)
    add(dataset, jpg, [0.3, 0.1, 0.35, 0.35])
    add(dataset, empty)
    out_dir = tmp_path / "out"
    summary = ldfa.anonymize_faces(dataset, method=method, field="anon", output_dir=out_dir,
                                   mask_grow=1.2, progress=False)
    assert (summary.images, summary.written, summary.unchanged, summary.failed) == (3, 2, 1, 0)
    assert summary.methods_applied == {method: 3} and "3 faces" in str(summary)
    assert json.loads(json.dumps(summary.to_dict()))["written"] == 2

    # The source tree is mirrored; the originals are untouched; the face-free image is a copy.
    assert sorted(dataset.values("anon")) == sorted(
        str(out_dir / p.relative_to(root)) for p in (png, jpg, empty))
    assert (out_dir / "empty.png").read_bytes() == empty.read_bytes()
    assert png.read_bytes() == sample_photos[0].read_bytes()
    assert_only_masks_changed(png, out_dir / "a" / "astronaut.png", [FACE, CORNER_FACE], grow=1.2)
    if method == "solid":  # every face box replaced whole: not one original pixel left in it
        out = np.asarray(Image.open(out_dir / "a" / "astronaut.png"))
        assert (out[union_mask(512, 512, [FACE, CORNER_FACE], grow=1.2)] == 0).all()
    out_jpg = Image.open(out_dir / "a" / "b" / "grace_hopper.jpg")
    assert out_jpg.format == "JPEG" and out_jpg.size == Image.open(jpg).size

    # Per-face facts, the media field and the run record.
    dets = dataset.first()["faces"].detections
    assert [d["anon_method"] for d in dets] == [method, method]
    assert [d["anon_skipped"] for d in dets] == [None, None]
    assert [d["anon_attempt"] for d in dets] == [0, 0]
    assert len({d["anon_seed"] for d in dets}) == 2
    assert "anon" in dataset.app_config.media_fields
    schema = dataset.get_field_schema(flat=True)
    assert {f"faces.detections.anon_{n}" for n in ("seed", "method", "skipped", "attempt")} <= set(schema)
    assert dataset.count_values("faces.detections.anon_method") == {method: 3}
    info = dataset.get_run_info("ldfa_anonymize_anon").config.serialize()
    assert info["method"] == method and info["config"]["mask_grow"] == 1.2
    assert info["output_dir"] == str(out_dir) and info["faces_field"] == "faces"
    assert {"ldfa", "fiftyone", "diffusers", "torch"} <= set(info["versions"])


def test_elliptical_grown_masks_replace_the_whole_box_and_change_only_the_ellipses(
    dataset, photo_tree, tmp_path
):
    _, png, _, _ = photo_tree
    add(dataset, png, FACE, CORNER_FACE)
    ldfa.anonymize_faces(dataset, method="solid", fill_color=(0, 255, 0), field="anon",
                         output_dir=tmp_path / "out", mask_grow=1.3, mask_ellipse=True, progress=False)
    out = tmp_path / "out" / "astronaut.png"
    assert_only_masks_changed(png, out, [FACE, CORNER_FACE], grow=1.3, ellipse=True)
    pixels = np.asarray(Image.open(out))
    boxes = union_mask(512, 512, [FACE, CORNER_FACE], grow=1.3)
    ellipses = union_mask(512, 512, [FACE, CORNER_FACE], grow=1.3, ellipse=True)
    assert (pixels[boxes] == (0, 255, 0)).all(), "the ellipse goes through the box's corners"
    assert ellipses.sum() > 1.2 * boxes.sum()


def test_small_faces_get_the_fallback_and_say_why(dataset, photo_tree, tmp_path):
    _, png, _, _ = photo_tree
    add(dataset, png, FACE, [0.8, 0.8, 0.02, 0.02])  # 10 px face
    ldfa.anonymize_faces(dataset, method="solid", field="anon", output_dir=tmp_path / "out",
                         min_face_px=20, fallback="pixelate", progress=False)
    big, small = dataset.first()["faces"].detections
    assert (big["anon_method"], big["anon_skipped"]) == ("solid", None)
    assert small["anon_method"] == "pixelate"
    assert "min_face_px 20" in small["anon_skipped"] and "pixelate instead of solid" in small["anon_skipped"]
    out = np.asarray(Image.open(tmp_path / "out" / "astronaut.png"))  # root: its own folder
    assert not (out[412:420, 412:420] == 0).all()  # pixelated, not filled


def crash_on_second_save(monkeypatch) -> list:
    """Make the engine die (as if killed) when it writes its second image; returns the saved paths."""
    real_save, saved = faces_module.save_atomic, []

    def crash_on_second(image, target, jpeg_quality):
        if saved:
            raise KeyboardInterrupt
        real_save(image, target, jpeg_quality)
        saved.append(target)

    monkeypatch.setattr(faces_module, "save_atomic", crash_on_second)
    return saved


def test_rerun_resumes_after_a_crash_and_another_config_needs_overwrite(
    dataset, photo_tree, tmp_path, monkeypatch
):
    root, png, jpg, empty = photo_tree
    for p in (png, jpg):
        add(dataset, p, FACE)
    add(dataset, empty)
    out_dir = tmp_path / "out"
    saved = crash_on_second_save(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        ldfa.anonymize_faces(dataset, method="pixelate", field="anon", output_dir=out_dir,
                             progress=False)
    assert len(saved) == 1 and not list(out_dir.rglob(".*.tmp"))
    monkeypatch.undo()  # the process restarts
    first_bytes = saved[0].read_bytes()

    again = ldfa.anonymize_faces(dataset, method="pixelate", field="anon", output_dir=out_dir,
                                 progress=False)
    # The face-free copy and the first image were finished before the crash.
    assert (again.resumed, again.written, again.unchanged) == (2, 1, 0)
    assert saved[0].read_bytes() == first_bytes
    assert dataset.count("anon") == 3

    # A batch size change alters no pixel: still a resume. Another method is refused...
    assert ldfa.anonymize_faces(dataset, method="pixelate", field="anon", output_dir=out_dir,
                                batch_size=2, progress=False).resumed == 3
    with pytest.raises(OutputError, match="another configuration"):
        ldfa.anonymize_faces(dataset, method="solid", field="anon", output_dir=out_dir,
                             progress=False)
    # ... unless asked to overwrite, which redoes every sample.
    redo = ldfa.anonymize_faces(dataset, method="solid", field="anon", output_dir=out_dir,
                                overwrite=True, progress=False)
    assert (redo.resumed, redo.written) == (0, 2)
    assert dataset.get_run_info("ldfa_anonymize_anon").config.method == "solid"


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, sample_photos):
    """Awkward files, each with the astronaut's face where the box says (display orientation)."""
    folder = tmp_path_factory.mktemp("bad")
    upright = Image.open(sample_photos[0]).convert("RGB").resize((256, 256))
    upright.convert("L").save(folder / "gray.png")
    rgba = upright.convert("RGBA")
    rgba.putalpha(200)
    rgba.save(folder / "rgba.png")
    upright.convert("P", palette=Image.ADAPTIVE).save(folder / "palette.png")
    Image.fromarray(np.asarray(upright.convert("L"), dtype=np.uint16) * 257).save(folder / "sixteen.png")
    upright.convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; "rotate 90 degrees clockwise to display"
    upright.transpose(Image.Transpose.ROTATE_90).save(folder / "exif_rotated.jpg", exif=exif, quality=95)
    upright.transpose(Image.Transpose.ROTATE_90).save(folder / "exif_rotated.png", exif=exif)
    Image.new("RGB", (1, 1), (90, 90, 90)).save(folder / "one_pixel.png")
    upright.save(folder / "truncated.jpg", quality=95)
    (folder / "truncated.jpg").write_bytes((folder / "truncated.jpg").read_bytes()[:3000])
    (folder / "not_an_image.jpg").write_text("this is text, not a JPEG")
    return folder


def test_bad_inputs_are_recorded_and_outputs_keep_format_mode_and_orientation(
    dataset, bad_inputs, tmp_path
):
    names = sorted(p.name for p in bad_inputs.iterdir())
    for name in names:
        add(dataset, bad_inputs / name, FACE)
    out_dir = tmp_path / "out"
    summary = ldfa.anonymize_faces(dataset, method="solid", fill_color=(255, 255, 255),
                                   field="anon", output_dir=out_dir, progress=False)
    assert sorted(f["filepath"].rsplit("/", 1)[1] for f in summary.failures) == [
        "not_an_image.jpg", "truncated.jpg"]
    assert summary.written == len(names) - 2
    assert sorted(s.filepath.rsplit("/", 1)[1] for s in dataset.match_tags("anon_failed")) == [
        "not_an_image.jpg", "truncated.jpg"]

    for name in names:
        if name in ("not_an_image.jpg", "truncated.jpg"):
            assert not (out_dir / name).exists()
            continue
        src, out = Image.open(bad_inputs / name), Image.open(out_dir / name)
        assert (out.format, out.mode, out.size) == (src.format, src.mode, src.size), name
        if name.endswith(".png") and name not in ("one_pixel.png", "exif_rotated.png"):
            assert_only_masks_changed(bad_inputs / name, out_dir / name, [FACE])
    # The 1x1 image's face is anonymized like any other: its one pixel is the fill.
    tiny = dataset.match({"filepath": str(bad_inputs / "one_pixel.png")}).first()["faces"].detections[0]
    assert (tiny["anon_method"], tiny["anon_skipped"]) == ("solid", None)
    assert np.asarray(Image.open(out_dir / "one_pixel.png")).tolist() == [[[255, 255, 255]]]

    # EXIF-rotated files keep their stored orientation and tag; the face is filled where the
    # App shows it, and the stored pixels change inside the rotated mask only.
    for name in ("exif_rotated.jpg", "exif_rotated.png"):
        out = Image.open(out_dir / name)
        assert out.getexif()[0x0112] == 6 and out.size == (256, 256)
        shown, _ = read_rgb(str(out_dir / name))
        assert shown[union_mask(256, 256, [FACE])].min() > 230, name  # the whole box, JPEG too
    stored_before = np.asarray(Image.open(bad_inputs / "exif_rotated.png"))
    stored_after = np.asarray(Image.open(out_dir / "exif_rotated.png"))
    stored_mask = np.rot90(union_mask(256, 256, [FACE], fade_px=4))  # display -> stored: undo the rotation
    assert (stored_before[~stored_mask] == stored_after[~stored_mask]).all()
    assert (stored_after[np.rot90(union_mask(256, 256, [FACE]))] == 255).all()
    # The 16-bit PNG's fill is full-scale 16-bit white.
    assert np.asarray(Image.open(out_dir / "sixteen.png")).max() == 65535


def test_cli_anonymize_prints_json_and_errors_in_one_line(fo, photo_tree, tmp_path, capsys):
    root, png, jpg, empty = photo_tree
    dataset = fo.Dataset("cli-anonymize")
    add(dataset, png, FACE)
    add(dataset, jpg, FACE)
    args = ["anonymize", "--dataset", "cli-anonymize", "--method", "pixelate", "--field", "anon_pix",
            "--output-dir", str(tmp_path / "out"), "--json"]
    try:
        assert cli(args) == 0
        out = json.loads(capsys.readouterr().out)
        assert (out["written"], out["faces"], out["methods_applied"]) == (2, 2, {"pixelate": 2})
        assert cli(args) == 0
        assert json.loads(capsys.readouterr().out)["resumed"] == 2
        assert cli([*args[:-1], "--seed", "5", "--min-face-px", "3"]) == 2
        err = capsys.readouterr().err.strip()
        assert "another configuration" in err and "\n" not in err
    finally:
        dataset.delete()


def test_operator_runs_from_python_and_delegates(dataset, photo_tree, tmp_path):
    import fiftyone.operators as foo
    from fiftyone.operators.delegated import DelegatedOperationService

    _, png, jpg, _ = photo_tree
    add(dataset, png, FACE)
    add(dataset, jpg, FACE)
    uri = "@ldfa/anonymization/anonymize_faces"
    operator = foo.get_operator(uri)
    result = operator(dataset.view(), tmp_path / "out", method="gauss")
    assert result.error is None, result.error
    assert result.result["written"] == 2 and dataset.count("anon_gauss") == 2

    operator(dataset.view(), tmp_path / "out2", method="solid", delegate=True)
    service = DelegatedOperationService()
    queued = service.list_operations(dataset_name=dataset.name)
    assert [op.operator for op in queued] == [uri]
    service.execute_queued_operations(dataset_name=dataset.name)
    done = service.get(queued[0].id)
    assert done.run_state == "completed", done.result
    assert done.status.progress == 1.0 and dataset.count("anon_solid") == 2


def pixels(path):
    return np.asarray(Image.open(path))


def test_a_killed_overwrite_run_resumes_without_keeping_the_old_configs_files(
    dataset, photo_tree, tmp_path, monkeypatch
):
    root, png, jpg, empty = photo_tree
    for p in (png, jpg):
        add(dataset, p, FACE)
    out_dir = tmp_path / "out"
    ldfa.anonymize_faces(dataset, method="pixelate", field="anon", output_dir=out_dir,
                         progress=False)
    crash_on_second_save(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        ldfa.anonymize_faces(dataset, method="solid", field="anon", output_dir=out_dir,
                             overwrite=True, progress=False)
    monkeypatch.undo()  # the process restarts

    again = ldfa.anonymize_faces(dataset, method="solid", field="anon", output_dir=out_dir,
                                 progress=False)
    assert (again.resumed, again.written) == (1, 1)
    ldfa.anonymize_faces(dataset, method="solid", field="fresh", output_dir=tmp_path / "fresh",
                         progress=False)
    for sample in dataset:
        assert (pixels(sample["anon"]) == pixels(sample["fresh"])).all(), sample.filepath


def test_the_same_config_into_a_new_folder_writes_that_folder_complete(
    dataset, photo_tree, tmp_path
):
    root, png, jpg, empty = photo_tree
    add(dataset, png, FACE)
    add(dataset, empty)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "one", progress=False)
    second = ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "two",
                                  progress=False)
    assert (second.resumed, second.written, second.unchanged) == (0, 1, 1)
    assert sorted(dataset.values("anon_pixelate")) == sorted(
        str(tmp_path / "two" / p.relative_to(root)) for p in (png, empty))
    assert all(Path(p).is_file() for p in dataset.values("anon_pixelate"))
