"""The README's quick start, run exactly as a newcomer types it: every command of its code
blocks (the demo, a folder and a video, a Cityscapes tree, licence plates), read from README.md
(so the test follows the README), with no extra flag."""

import json
import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.geometry.masks import face_region
from ldfa_testing.app_browser import app_processes, assert_app_stopped, free_port
from ldfa_testing.videos import panned

pytestmark = pytest.mark.slow  # whole demo runs

REPO = Path(__file__).resolve().parents[2]


def quick_start() -> list[str]:
    """The bash blocks of the README's "Quick start" section."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def lines(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_quick_start_is_on_the_first_screen_and_names_the_two_commands():
    text = (REPO / "README.md").read_text()
    assert text.index("\n## Quick start\n") < 1500
    setup = lines(quick_start()[0])
    assert any(line.startswith("./dev.sh demo") for line in setup)
    assert any(line.startswith("./dev.sh test") for line in setup)
    assert len(lines(quick_start()[1])) <= 4  # anonymize your own folder in four lines at most
    assert len(lines(quick_start()[2])) <= 4 and "ldfa run cityscapes" in quick_start()[2]


def test_the_demo_commands_run_as_written(fo):
    """`./dev.sh test` is this very suite, so it is not run from inside it; every other line is."""
    for line in lines(quick_start()[0]):
        if line.startswith("./dev.sh test"):
            continue
        if "--no-app" in line:
            done = subprocess.run(["bash", "-c", line], cwd=REPO, capture_output=True, text=True,
                                  timeout=1200)
            assert done.returncode == 0, done.stderr[-3000:]
            out = done.stdout.splitlines()
            assert all(len(row) <= 80 for row in out), out
            assert any(row.startswith("report: ") for row in out)
            demo = fo.load_dataset("ldfa-demo")
            for field in ("anon_gauss", "anon_pixelate", "anon_solid"):
                assert demo.count(field) == len(demo) == 2
                assert any(f"-> ldfa-output/demo/{field}" in row for row in out)
        else:
            app_opens(line)


def app_opens(line: str) -> None:
    """The demo with the App: it prints the App's address, which serves the App; stopped, it
    stops the App's server (on a free port: FiftyOne's FIFTYONE_DEFAULT_APP_PORT, not a user's 5151)."""
    server = subprocess.Popen(["bash", "-c", line], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, start_new_session=True,
                              env={**os.environ, "FIFTYONE_DEFAULT_APP_PORT": str(free_port())})
    try:
        url = None
        for row in server.stdout:
            found = re.search(r"App: (http\S+)", row)
            if found:
                url = found.group(1)
                break
        assert url, f"the demo ended ({server.wait()}) without opening the App"
        with urllib.request.urlopen(url, timeout=60) as page:
            assert page.status == 200
        app = app_processes(server.pid, url)
        demo = app[0].parent()  # the ldfa process itself, whatever shells stand above it
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=120)
    demo.wait(timeout=120)
    assert_app_stopped(app, url)


def test_anonymizing_your_own_folder_and_video_runs_as_written(fo, sample_photos, tmp_path):
    """The README's own-folder lines, in one shell, with a home that holds ~/photos and
    ~/videos/street.mp4 (a clip panned across a packaged photo, with audio: no ../shared)."""
    photos = tmp_path / "photos"
    (photos / "trip").mkdir(parents=True)
    png, jpg = sample_photos
    (photos / png.name).write_bytes(png.read_bytes())
    (photos / "trip" / jpg.name).write_bytes(jpg.read_bytes())
    (photos / "notes.txt").write_text("not an image")
    (tmp_path / "videos").mkdir()
    clip = panned(png, tmp_path / "videos" / "street.mp4")
    (tmp_path / "videos" / "other.mp4").write_bytes(b"a sibling of the clip: not part of its run")
    done = subprocess.run(["bash", "-c", quick_start()[1]], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "HOME": str(tmp_path)}, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_video_anonymized(fo, clip, tmp_path / "videos-anon" / "street.mp4")
    out = tmp_path / "photos-anon"
    assert str(out) in done.stdout
    assert (out / "notes.txt").read_text() == "not an image"
    dataset = fo.load_dataset("ldfa-folder-photos")  # the name `ldfa run` gives a folder's dataset
    for path, faces in zip(*dataset.values(["filepath", "faces"])):
        before = np.asarray(Image.open(path).convert("RGB"), dtype=float)
        after = np.asarray(Image.open(out / Path(path).relative_to(photos)).convert("RGB"), dtype=float)
        height, width = before.shape[:2]
        assert faces.detections, path
        for face in faces.detections:
            x1, y1, x2, y2 = face_region(width, height, face.bounding_box)
            assert np.abs(before[y1:y2, x1:x2] - after[y1:y2, x1:x2]).mean() > 5, path


def test_anonymizing_licence_plates_runs_as_written(fo, tmp_path):
    """The README's plates line, with a home whose ~/dashcam holds six of the shared dashcam and
    close-up photos (skipped without ../shared): every labelled plate replaced whole."""
    from ldfa.plugin.metrics.plates import COVER_WHOLE
    from ldfa_testing.plates import cover, labelled_plates, shared_plates

    folder, _ = shared_plates()
    dashcam = tmp_path / "dashcam"
    dashcam.mkdir()
    names = sorted(labelled_plates())[:3] + sorted(labelled_plates())[-3:]
    for name in names:
        (dashcam / name).write_bytes((folder / "images" / name).read_bytes())
    done = subprocess.run(["bash", "-c", "source .venv/bin/activate\n" + quick_start()[3]], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)},
                          timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "verify-export: ok" in done.stdout
    for name in names:
        for box in labelled_plates()[name]:
            assert cover(dashcam / name, tmp_path / "dashcam-anon" / name, box) >= COVER_WHOLE, name


def assert_video_anonymized(fo, clip: Path, out: Path) -> None:
    """The clip's video came back whole (frames, rate, size, audio) with every face tracked and
    filled in every frame; nothing but it in the output."""
    from ldfa.plugin.geometry.boxes import to_pixels
    from ldfa.plugin.io.video import probe, read_frames

    assert sorted(p.name for p in out.parent.iterdir()) == ["street.mp4", "street.mp4.faces.json"]
    before, after = probe(clip), probe(out)
    assert (after.frames, after.rate, after.width, after.height, after.streams) == (
        before.frames, before.rate, before.width, before.height, before.streams)
    videos = fo.load_dataset("ldfa-folder-street-videos")  # `ldfa run`'s name for the videos' dataset
    frames = videos.first().frames
    for n, (a, b) in enumerate(zip(read_frames(clip), read_frames(out)), 1):
        faces = frames[n]["faces"].detections
        assert faces, f"frame {n}: no face tracked"
        for face in faces:
            x, y, w, h = (round(v) for v in to_pixels(face.bounding_box, before.width, before.height))
            assert np.abs(a[y:y + h, x:x + w].astype(float) - b[y:y + h, x:x + w]).mean() > 5, n


def test_anonymizing_a_cityscapes_tree_runs_as_written(fo, sample_photos, tmp_path):
    """The README's Cityscapes line, with a home that holds ~/cityscapes: one frame (the packaged
    astronaut) with its gtFine polygons, a person drawn around her. The export comes back whole:
    the frame with its face changed, the annotations byte for byte."""
    png, _ = sample_photos
    stem = "frankfurt_000000_000001"
    frame = tmp_path / "cityscapes" / "leftImg8bit" / "val" / "frankfurt" / f"{stem}_leftImg8bit.png"
    frame.parent.mkdir(parents=True)
    frame.write_bytes(png.read_bytes())
    width, height = Image.open(frame).size
    polygons = tmp_path / "cityscapes" / "gtFine" / "val" / "frankfurt" / f"{stem}_gtFine_polygons.json"
    polygons.parent.mkdir(parents=True)
    polygons.write_text(json.dumps({"imgHeight": height, "imgWidth": width, "objects": [
        {"label": "person", "polygon": [[100, 20], [380, 20], [420, height - 1], [60, height - 1]]}]}))
    done = subprocess.run(["bash", "-c", "source .venv/bin/activate\n" + quick_start()[2]], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)},
                          timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "cityscapes-anon"
    assert (out / polygons.relative_to(tmp_path / "cityscapes")).read_bytes() == polygons.read_bytes()
    before = np.asarray(Image.open(frame).convert("RGB"), dtype=float)
    after = np.asarray(Image.open(out / frame.relative_to(tmp_path / "cityscapes")).convert("RGB"), dtype=float)
    assert before.shape == after.shape and np.abs(before - after).mean() > 0.1
