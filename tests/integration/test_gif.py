"""Animated GIFs (#21): a video sample playing an MP4 made from the GIF, detected, tracked and
anonymized like any video, and exported as a GIF again with its frames, timing, size and loop,
only its faces changed; a one-frame GIF stays an image."""

import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ldfa.cli import main as cli
from ldfa.converters.folder import import_folder, videos_of
from ldfa.plugin.geometry.boxes import to_pixels
from ldfa.plugin.io.folders import ORIGINAL_GIF, add_video_folder
from ldfa.plugin.io.video import probe, read_frames
from ldfa_testing.photos import ASTRONAUT_FACE
from ldfa_testing.videos import shared_clip

DURATIONS = [80, 120, 60, 100]  # ms: a GIF's frames need not share one rate
SIZE = 240  # px: the window of the photo each frame shows


def gif_of(frames: list[np.ndarray], target: Path, durations: list[int], loop: int | None = 0) -> Path:
    """An animated GIF of these RGB frames (each quantized on its own, as GIF makers do)."""
    images = [Image.fromarray(f).quantize(256) for f in frames]
    extra = {} if loop is None else {"loop": loop}
    images[0].save(target, save_all=True, append_images=images[1:], duration=durations, disposal=1, **extra)
    return target


def panned_gif(photo: Path, target: Path, frames: int = len(DURATIONS), loop: int | None = 0) -> Path:
    """A window of ``SIZE`` px sliding right across the packaged astronaut photo: its face moves."""
    pixels = np.asarray(Image.open(photo).convert("RGB"))
    return gif_of([np.ascontiguousarray(pixels[:SIZE, 20 * n + 120:20 * n + 120 + SIZE]) for n in range(frames)],
                  target, DURATIONS[:frames], loop)


def face_box(n: int) -> tuple[int, int, int, int]:
    """The astronaut's face in frame ``n`` of ``panned_gif``, in pixels (x1, y1, x2, y2)."""
    x, y, w, h = to_pixels(ASTRONAUT_FACE, 512, 512)
    return int(x) - 20 * n - 120, int(y), int(x + w) - 20 * n - 120, int(y + h)


def gif_facts(path: Path) -> dict:
    """What a GIF must keep: frames, each frame's duration, size and loop count."""
    with Image.open(path) as image:
        durations = []
        for n in range(image.n_frames):
            image.seek(n)
            durations.append(image.info["duration"])
        return {"frames": image.n_frames, "durations": durations, "size": image.size, "loop": image.info.get("loop")}


@pytest.fixture
def fiftyone_dir(fo, tmp_path, monkeypatch):
    """FiftyOne's folder for the media it makes (the GIFs' MP4s, a single file's work) in tmp_path."""
    monkeypatch.setattr(fo.config, "default_dataset_dir", str(tmp_path / "fiftyone"))
    return tmp_path / "fiftyone"


@pytest.fixture
def named(fo):
    """A dataset name for an `ldfa run`, its datasets deleted afterwards."""
    name = f"gif-{uuid.uuid4().hex[:8]}"
    yield name
    for made in (name, f"{name}-videos"):
        if fo.dataset_exists(made):
            fo.delete_dataset(made)


@pytest.mark.slow
def test_ldfa_run_on_an_animated_gif_gives_it_back_anonymized(fo, fiftyone_dir, sample_photos, named, tmp_path,
                                                              monkeypatch, capsys):
    """The command as a user types it: out/a.gif is a GIF with the source's frames, durations, size
    and loop, the face changed in every frame and nothing else (verified)."""
    source = panned_gif(sample_photos[0], tmp_path / "a.gif", loop=3)
    monkeypatch.chdir(tmp_path)
    assert cli(["run", "a.gif", "--output", "out/", "--method", "gauss", "--dataset", named]) == 0
    assert "verify-export: ok" in capsys.readouterr().out
    exported = tmp_path / "out" / "a.gif"
    assert sorted(p.name for p in exported.parent.iterdir()) == ["a.gif", "a.gif.faces.json"]
    assert gif_facts(exported) == gif_facts(source) == {"frames": 4, "durations": DURATIONS,
                                                        "size": (SIZE, SIZE), "loop": 3}
    for n, (before, after) in enumerate(zip(read_frames(source), read_frames(exported), strict=True)):
        x1, y1, x2, y2 = face_box(n)
        change = np.abs(before.astype(int) - after.astype(int)).max(axis=-1)
        assert change[y1:y2, x1:x2].mean() > 10, f"frame {n}: the face is as it was"
    assert cli(["verify-export", str(tmp_path), "out", "--json"]) == 0
    video_check = next(c for c in json.loads(capsys.readouterr().out)["checks"]
                       if c["check"] == "video frames changed only inside the face masks")
    assert video_check["ok"] and "largest share 0.0000%" in video_check["value"], video_check  # palette kept
    sample = videos_of(fo.load_dataset(named)).first()
    assert sample[ORIGINAL_GIF] == str(source) and sample.relpath == "a.gif"
    assert Path(sample.filepath).is_relative_to(fiftyone_dir) and probe(sample.filepath).codec == "h264"
    assert Path(sample.anon_gauss).suffix == ".mp4"  # the App plays the anonymized MP4


def test_a_folders_animated_gif_is_a_video_playing_its_mp4_and_a_still_gif_an_image(
        fo, dataset, fiftyone_dir, sample_photos, tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    png, jpg = sample_photos
    (root / png.name).write_bytes(png.read_bytes())
    panned_gif(png, root / "a.gif")
    gif_of([np.asarray(Image.open(jpg).convert("RGB"))], root / "still.gif", [100])
    report = import_folder(root, dataset, progress=False)
    videos = videos_of(dataset)
    try:
        assert (report["images"], report["videos"], report["problems"]) == (2, 1, [])
        assert sorted(dataset.values("relpath")) == [png.name, "still.gif"]
        gif = videos.first()
        assert (gif.relpath, gif[ORIGINAL_GIF], gif.metadata.total_frame_count) == ("a.gif", str(root / "a.gif"), 4)
        assert Path(gif.filepath).is_relative_to(fiftyone_dir / "ldfa" / videos.name / "gif")
        assert gif.metadata.mime_type == "video/mp4" and gif.metadata.duration == pytest.approx(0.36)
        assert import_folder(root, dataset, progress=False)["videos"] == 0  # known by its relpath
        made = Path(gif.filepath).stat().st_mtime_ns
        assert add_video_folder(videos, root / "a.gif")["added"] == 0  # known by its GIF's path
        assert Path(gif.filepath).stat().st_mtime_ns == made
    finally:
        fo.delete_dataset(videos.name)


@pytest.mark.slow
def test_ldfa_detect_videos_takes_an_animated_gif(fo, fiftyone_dir, sample_photos, named, tmp_path, capsys):
    gif = panned_gif(sample_photos[0], tmp_path / "a.gif")
    assert cli(["detect", "--dataset", named, "--videos", str(gif), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["videos_added"]["added"] == 1
    sample = fo.load_dataset(named).first()
    faces = [frame.faces.detections for frame in sample.frames.values()]
    assert len(faces) == 4 and all(len(f) == 1 and f[0].index is not None for f in faces)  # one tracked face
    still = gif_of([np.zeros((8, 8, 3), np.uint8)], tmp_path / "still.gif", [100])
    assert cli(["detect", "--dataset", named, "--videos", str(still)]) == 2  # an image, not a video
    assert "animated GIFs" in capsys.readouterr().err


@pytest.mark.slow
def test_ldfa_run_on_a_folder_with_a_gif_among_images_and_videos(fo, fiftyone_dir, sample_photos, named, tmp_path,
                                                                 capsys):
    from ldfa_testing.videos import panned

    root, out = tmp_path / "mixed", tmp_path / "out"
    (root / "clips").mkdir(parents=True)
    png, jpg = sample_photos
    (root / png.name).write_bytes(png.read_bytes())
    panned_gif(png, root / "clips" / "a.gif")
    gif_of([np.asarray(Image.open(jpg).convert("RGB"))], root / "still.gif", [100])
    panned(png, root / "clips" / "b.mp4", frames=4, size=160)
    assert cli(["run", str(root), "--output", str(out), "--method", "gauss", "--dataset", named]) == 0
    assert "verify-export: ok" in capsys.readouterr().out
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "astronaut.png", "clips/a.gif", "clips/a.gif.faces.json", "clips/b.mp4", "clips/b.mp4.faces.json",
        "still.gif"]
    assert gif_facts(out / "clips" / "a.gif") == gif_facts(root / "clips" / "a.gif")
    with Image.open(out / "still.gif") as still, Image.open(root / "still.gif") as before:
        assert still.format == "GIF" and not getattr(still, "is_animated", False)
        assert np.abs(np.asarray(still.convert("RGB"), int) - np.asarray(before.convert("RGB"), int)).max() > 0


@pytest.mark.slow
def test_the_shared_walking_gif_cut_short_comes_back_anonymized(fo, fiftyone_dir, named, tmp_path, capsys):
    walking = shared_clip("face-demographics-walking.gif")
    frames = [f for _, f in zip(range(6), read_frames(walking))]
    with Image.open(walking) as image:
        durations = [image.seek(n) or image.info["duration"] for n in range(6)]
    source = gif_of(frames, tmp_path / "walking.gif", durations)
    assert cli(["run", str(source), "--output", str(tmp_path / "out"), "--method", "gauss", "--dataset", named]) == 0
    assert "verify-export: ok" in capsys.readouterr().out
    exported = tmp_path / "out" / "walking.gif"
    assert gif_facts(exported) == gif_facts(source)
    sample = videos_of(fo.load_dataset(named)).first()
    boxes = [frame.faces.detections for frame in sample.frames.values()]
    assert sum(map(len, boxes)) >= 6  # the two walkers, in most frames
    for faces, before, after in zip(boxes, read_frames(source), read_frames(exported), strict=True):
        change = np.abs(before.astype(int) - after.astype(int)).max(axis=-1)
        for face in faces:
            x, y, w, h = (round(v) for v in to_pixels(face.bounding_box, 480, 270))
            assert change[y:y + h, x:x + w].mean() > 3, f"a face at {(x, y, w, h)} is as it was"
