"""The command line a newcomer meets: pure JSON, one-line errors, exit codes, help, version."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ldfa.cli import main as cli

LDFA = [str(Path(sys.executable).with_name("ldfa"))]  # the console script a user runs


@pytest.mark.slow
def test_json_output_is_json_alone_and_the_terminal_quiet_unless_verbose(
    fo, dataset, sample_photos, tmp_path
):
    """In a fresh process, without FIFTYONE_DATABASE_VALIDATION set (as outside dev.sh):
    FiftyOne's "oldest supported MongoDB" warning is not printed at all. By default stderr holds
    the progress bars alone, each drawn full once: no FiftyOne log line, no LiteRT line from the
    face mesh's C++. With --verbose those go to stderr too, and stdout is still one JSON document."""
    import ldfa

    dataset.add_samples([fo.Sample(filepath=str(p)) for p in sample_photos])
    dataset.persistent = True  # the subprocess loads it by name
    ldfa.detect_faces(dataset, progress=False)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "pix", progress=False)
    env = {k: v for k, v in os.environ.items() if k not in ("FIFTYONE_DATABASE_VALIDATION", "LDFA_VERBOSE")}
    command = [*LDFA, "evaluate", "--dataset", dataset.name, "--field", "anon_pixelate",
               "--embedders", "dlib"]
    quiet = subprocess.run(command, env=env, capture_output=True, text=False)
    assert quiet.returncode == 0, quiet.stderr
    drawn = [d.strip() for d in quiet.stderr.decode().replace("\r", "\n").splitlines() if d.strip()]
    full = [d.split(":")[0] for d in drawn if "100%|" in d]
    # identity, residual, attributes (the face mesh) and detection in one pass
    assert full == ["Measuring anon_pixelate (identity, residual, attributes, detection)"], drawn
    assert "XNNPACK" not in quiet.stderr.decode() and all("%|" in d for d in drawn), drawn
    done = subprocess.run([*command, "--json", "--verbose"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["field"] == "anon_pixelate" and result["detection"]["faces"] == 2
    assert "Evaluating detections" in done.stderr and "XNNPACK" in done.stderr
    assert "oldest supported" not in done.stdout + done.stderr


@pytest.mark.parametrize("command", [["anonymize", "--output-dir", "x"], ["evaluate", "--field", "x"],
                                     ["report", "--output", "x"], ["detect"]])
def test_a_missing_dataset_is_one_line_naming_real_commands(fo, command, capsys):
    assert cli([command[0], "--dataset", "no-such-dataset", *command[1:]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ldfa: error: no dataset named 'no-such-dataset'") and "\n" not in err
    assert "ldfa detect --dataset NAME --images DIR" in err and "--images DIR to create" not in err


def test_an_output_dir_that_is_a_file_is_one_line(fo, dataset, sample_photos, tmp_path, capsys):
    dataset.add_sample(fo.Sample(filepath=str(sample_photos[0]), faces=fo.Detections()))
    dataset.persistent = True
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("taken")
    assert cli(["anonymize", "--dataset", dataset.name, "--method", "solid",
                "--output-dir", str(a_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"ldfa: error: output_dir {a_file} is a file, not a folder; choose a folder"
    assert a_file.read_text() == "taken"


def test_a_run_where_every_image_failed_exits_non_zero_and_says_why_once(fo, tmp_path, capsys):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    try:
        assert cli(["detect", "--dataset", "all-failed", "--images", str(folder)]) == 1
        out = capsys.readouterr().out
        assert "1 images, 0 faces" in out and "1 failed" in out
        [line] = [line for line in out.splitlines() if "failed:" in line]
        assert line.count("truncated.jpg") == 1, "the reason does not repeat the path"
    finally:
        fo.delete_dataset("all-failed")


def test_a_folder_without_images_is_an_error_like_a_missing_one(fo, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no photos here")
    assert cli(["detect", "--dataset", "no-images", "--images", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} holds no image files (1 other files)" in err
    assert cli(["detect", "--dataset", "no-images", "--images", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert "no-images" not in fo.list_datasets()


def test_a_failed_detect_leaves_no_dataset_it_created(fo, sample_photos, tmp_path, capsys):
    """A bad option is refused before any dataset is made; a failure after the images were
    added removes the dataset the command made, and never one that was there before."""
    assert cli(["detect", "--dataset", "typo", "--images", str(tmp_path / "no-such-folder")]) == 2
    assert cli(["detect", "--dataset", "typo", "--images", str(sample_photos[0].parent),
                "--confidence", "5"]) == 2
    assert cli(["detect", "--dataset", "typo", "--images", str(sample_photos[0].parent),
                "--people-field", "gt_fine"]) == 2  # fails after adding: no such field
    assert "typo" not in fo.list_datasets()
    kept = fo.Dataset("kept-after-failure", persistent=True)
    try:
        assert cli(["detect", "--dataset", kept.name, "--images", str(sample_photos[0].parent),
                    "--people-field", "gt_fine"]) == 2
        assert kept.name in fo.list_datasets() and len(kept) == len(sample_photos)
    finally:
        kept.delete()
    capsys.readouterr()


@pytest.mark.slow
def test_evaluate_gives_the_faces_of_an_image_never_anonymized_a_reason(
    fo, dataset, sample_photos, tmp_path, capsys
):
    """One image's anonymization failed (its path is None): every metric says why for its
    faces, leaves them out of its figures, and the mAP is over the other image."""
    import ldfa
    from ldfa.plugin.schema import detection_reason, eval_key, predictions, residual_reason

    dataset.add_samples([fo.Sample(filepath=str(p)) for p in sample_photos])
    dataset.persistent = True
    ldfa.detect_faces(dataset, progress=False)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "pix", progress=False)
    ldfa.evaluate_face_detection(dataset, "anon_pixelate", progress=False)  # before it failed
    failed = dataset.first()
    failed["anon_pixelate"] = None
    failed.save()
    assert cli(["evaluate", "--dataset", dataset.name, "--field", "anon_pixelate",
                "--embedders", "dlib", "--json"]) == 0
    out = capsys.readouterr().out  # in this process, FiftyOne's bars reach capsys's stdout too
    result = json.loads(out[out.index("{\n"):])
    failed.reload()
    faces = failed.faces.detections
    assert faces and all(f[detection_reason("anon_pixelate")].startswith("no anonymized image")
                         for f in faces)
    assert all(f[residual_reason("anon_pixelate")].startswith("no anonymized image") for f in faces)
    others = sum(len(s.faces.detections) for s in dataset.skip(1))
    detection = result["detection"]
    assert detection["images"] == 1 and detection["faces"] == others
    assert detection["faces_left_out"] == len(faces)
    assert set(dataset.limit(1).values(f"faces.detections.{eval_key(predictions('anon_pixelate'))}",
                                       unwind=True)) <= {None}, "no stale verdict either"
    assert set(dataset.skip(1).values(f"faces.detections.{detection_reason('anon_pixelate')}",
                                      unwind=True)) == {None}


@pytest.mark.slow
def test_the_missing_model_error_is_one_line_without_the_hubs_noise(fo, dataset, sample_photos, tmp_path):
    """The default hub id is not cached here (no network): one line, none of huggingface's
    "Couldn't connect to the Hub" warnings before it. Run as a user runs it: a new process."""
    from ldfa.plugin.anonymization.config import DEFAULT_MODEL
    from ldfa.plugin.anonymization.diffusion import model_available

    if model_available(DEFAULT_MODEL)[0]:
        pytest.skip(f"{DEFAULT_MODEL} is in this machine's Hugging Face cache")
    dataset.add_sample(fo.Sample(filepath=str(sample_photos[0]), faces=fo.Detections()))
    dataset.persistent = True
    done = subprocess.run([*LDFA, "anonymize", "--dataset", dataset.name, "--output-dir",
                           str(tmp_path / "out")], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "0"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"ldfa: error: diffusion model {DEFAULT_MODEL} is not available offline")


def test_ldfa_run_checks_every_option_before_any_work(fo, tmp_path, capsys):
    source = tmp_path / "cityscapes"
    frame = source / "leftImg8bit/val/bochum/bochum_000000_000001_leftImg8bit.png"
    frame.parent.mkdir(parents=True)
    Image.new("RGB", (64, 32)).save(frame)
    with pytest.raises(SystemExit) as exit_info:  # a typo is an argparse error, nothing imported
        cli(["run", "cityscapes", str(source), "--output", str(tmp_path / "o"), "--detector", "retina"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'retina'" in capsys.readouterr().err
    # the output's place is checked first: no dataset made, nothing imported
    assert cli(["run", "cityscapes", str(source), "--output", str(source / "out"),
                "--dataset", "never-made"]) == 2
    assert "inside the source tree" in capsys.readouterr().err
    assert cli(["run", "cityscapes", str(source), "--output", str(tmp_path / "o"),
                "--dataset", "never-made", "--method", "gauss", "--steps", "0"]) == 2
    assert "num_inference_steps" in capsys.readouterr().err
    assert not fo.dataset_exists("never-made")


def test_ldfa_run_detects_again_only_when_told_to(fo, tmp_path, capsys):
    source = tmp_path / "cityscapes"
    frame = source / "leftImg8bit/val/bochum/bochum_000000_000001_leftImg8bit.png"
    frame.parent.mkdir(parents=True)
    Image.new("RGB", (64, 32), (50, 60, 70)).save(frame)
    args = ["run", "cityscapes", str(source), "--output", str(tmp_path / "o"), "--dataset",
            "run-redetect", "--method", "pixelate", "--json"]
    try:
        assert cli(args) == 0
        assert json.loads(capsys.readouterr().out)["detected"]["detector"] == "centerface"
        assert cli([*args, "--detector", "retinaface"]) == 2
        err = capsys.readouterr().err
        assert "detector centerface -> retinaface" in err and "--overwrite" in err
        assert cli([*args, "--detector", "retinaface", "--overwrite"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["detected"]["detector"] == "retinaface" and result["verified"]["ok"]
        run = fo.load_dataset("run-redetect").get_run_info("ldfa_detect_faces").config
        assert run.detector == "retinaface"
    finally:
        fo.delete_dataset("run-redetect")


def test_cli_detect_builds_the_dataset_and_prints_faces_per_image_as_json(
    fo, sample_photos, tmp_path, capsys
):
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    for p in sample_photos:
        (folder / "sub" / p.name).write_bytes(p.read_bytes())
    (folder / "notes.txt").write_text("not an image")
    assert cli(["detect", "--dataset", "cli-detect", "--images", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images_added"] == {"added": 2, "already_present": 0, "not_images": 1, "outputs_left_out": 0}
    assert sorted((p["filepath"].rsplit("/", 1)[1], p["faces"]) for p in out["per_image"]) == [
        ("astronaut.png", 1), ("grace_hopper.jpg", 1)]
    # A second run extends nothing and keeps the dataset (it is persistent).
    assert cli(["detect", "--dataset", "cli-detect", "--images", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images_added"]["added"] == 0
    fo.load_dataset("cli-detect").delete()


def test_cli_errors_are_one_line_and_nonzero(fo, capsys):
    assert cli(["detect", "--dataset", "no-such-dataset"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ldfa: error: no dataset named 'no-such-dataset'") and "\n" not in err
    with pytest.raises(SystemExit) as exit_info:
        cli(["detect", "--dataset", "x", "--detector", "nope"])
    assert exit_info.value.code == 2


def test_ldfa_plugin_install_links_the_package_where_fiftyone_looks(fo, tmp_path, monkeypatch):
    import fiftyone.plugins as fop

    plugins_dir = tmp_path / "plugins"
    assert cli(["plugin", "install", "--plugins-dir", str(plugins_dir)]) == 0
    link = plugins_dir / "ldfa"
    assert link.is_symlink() and (link / "fiftyone.yml").is_file()
    monkeypatch.setattr(fo.config, "plugins_dir", str(plugins_dir))
    assert [p.name for p in fop.list_plugins()] == ["@ldfa/anonymization"]
    assert cli(["plugin", "install", "--plugins-dir", str(plugins_dir)]) == 0  # idempotent
    assert cli(["plugin", "uninstall", "--plugins-dir", str(plugins_dir)]) == 0
    assert not link.exists()


def test_a_failed_import_is_one_line_and_leaves_no_dataset(fo, sample_photos, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    (images / "hopper.jpg").write_bytes(sample_photos[1].read_bytes())
    annotations = tmp_path / "instances.json"
    annotations.write_text('{"images": [{"id": 1}], "annotations": [], "categories": []}')
    assert cli(["import", "coco", str(images), "--annotations", str(annotations), "--dataset", "half",
                "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "file_name" in err[0]
    assert "half" not in fo.list_datasets()
