"""Videos in the export round trip: each anonymized video comes back under its source's name (or a
lossless .mkv beside the name) with its face tracks, checked frame by frame against the source;
a video never anonymized is left out, never copied raw; a single-file source exports that file."""

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.cli import main as cli
from ldfa.converters.export import export_anonymized
from ldfa.converters.manifest import manifest_path
from ldfa.converters.verify import MAX_VIDEO_MEAN_DIFF, verify_export
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.freshness import faces_digest
from ldfa.plugin.geometry.masks import union_mask
from ldfa.plugin.io.video import rewrite_video, video_target
from ldfa.plugin.runs import record_run
from ldfa.plugin.schema import ANONYMIZE, faces_digest_field, run_key
from ldfa_testing.videos import cut, remux

FIELD = "anon_gauss"
MASK = {"mask_grow": 1.1, "mask_ellipse": False, "mask_blur_px": 4}
FRAMES = 10


def track_boxes(n: int) -> list[list[tuple[int, list[float]]]]:
    """(track id, relative box) per frame: track 1 walks right through every frame, track 2
    shows in frames 3 to 7 only (so frames differ in their masks)."""
    return [[(1, [0.1 + 0.03 * i, 0.2, 0.2, 0.12])] + ([(2, [0.5, 0.6, 0.25, 0.1])] if 2 <= i <= 6 else [])
            for i in range(n)]


def blur_faces(source: Path, target: Path, boxes: list, codec: str, change=None) -> Path:
    """``source`` with its face masks blurred (and ``change(index, frame)`` applied after)."""
    def edit(start, frames):
        out = []
        for i, frame in enumerate(frames, start):
            h, w = frame.shape[:2]
            mask = union_mask(w, h, boxes[i] if i < len(boxes) else [], MASK["mask_grow"],
                              MASK["mask_ellipse"], MASK["mask_blur_px"])
            frame = np.where(mask[..., None], cv2.GaussianBlur(frame, (0, 0), 6), frame)
            out.append(change(i, frame) if change else frame)
        return out

    target.parent.mkdir(parents=True, exist_ok=True)
    rewrite_video(source, target, edit, codec=codec)
    return target


@pytest.fixture
def clip(shared_data, tmp_path):
    walkway = shared_data / "videos/walkway.mp4"
    if not walkway.is_file():
        pytest.skip(f"needs {walkway} (the shared data's videos)")
    # 480x270 stored, turned 90 degrees for display, with its audio: a real clip, small enough to test fast
    return cut(walkway, tmp_path / "clip.mp4", FRAMES, scale=0.25, rotation=90, crf=18)


def video_dataset(fo, name: str, root: Path, videos: dict[str, Path | None], anonymized_dir: Path,
                  quality: int | None = None):
    """A video dataset as the folder import and ``anonymize_faces`` leave it: per video its
    ``relpath``, faces per frame (track ``index``, ``source``), the anonymized path in ``FIELD``
    with its faces' digest, and the run recorded (H.264 at CRF ``quality``, None: not recorded);
    a None path is a failed anonymization."""
    ds = fo.Dataset(name)
    ds.add_sample_field(FIELD, fo.StringField)
    for rel, path in videos.items():
        sample = fo.Sample(filepath=str(root / rel), relpath=rel)
        for n, faces in enumerate(track_boxes(FRAMES), 1):
            sample.frames[n] = fo.Frame(faces=fo.Detections(detections=[
                fo.Detection(label="face", bounding_box=box, index=track, source="centerface", confidence=0.9)
                for track, box in faces]))
        sample[FIELD] = None if path is None else str(path)
        ds.add_sample(sample)
        if path is not None:
            sample[faces_digest_field(FIELD)] = faces_digest(
                (d.id, tuple(d.bounding_box), 0) for frame in sample.frames.values() for d in frame.faces.detections)
            sample.save()
    record_run(ds, run_key(ANONYMIZE, FIELD), {"method": "gauss", "faces_field": "faces", "field": FIELD,
                                               "output_dir": str(anonymized_dir),
                                               "config": MASK | ({"video_quality": quality} if quality else {})})
    return ds


@pytest.fixture
def folder(fo, dataset, clip, tmp_path, sample_photos):
    """A folder with a photo, two videos (one anonymized with H.264, one whose anonymization
    failed), a video never imported and a text file; the image dataset and its video dataset."""
    root = tmp_path / "source"
    (root / "street").mkdir(parents=True)
    shutil.copy(clip, root / "street/walk.mp4")
    shutil.copy(clip, root / "street/failed.mp4")
    (root / "raw").mkdir()
    shutil.copy(clip, root / "raw/never-imported.mp4")
    Image.open(sample_photos[0]).save(root / "photo.png")
    (root / "notes.txt").write_text("kept as it is\n")
    boxes = [[box for _, box in faces] for faces in track_boxes(FRAMES)]
    walk = blur_faces(root / "street/walk.mp4", tmp_path / "anon/street/walk.mp4", boxes, "h264")
    videos = video_dataset(fo, f"{dataset.name}-videos", root, {"street/walk.mp4": walk, "street/failed.mp4": None},
                           tmp_path / "anon")
    dataset.add_sample(fo.Sample(filepath=str(root / "photo.png"), relpath="photo.png",
                                 faces=fo.Detections(detections=[fo.Detection(label="face",
                                                                              bounding_box=[0.3, 0.2, 0.3, 0.3])])))
    ldfa.anonymize_faces(dataset, method="gauss", output_dir=tmp_path / "anon-images", progress=False)
    dataset.info["ldfa_source"] = {"format": "folder", "root": str(root), "people_fields": [],
                                   "videos_dataset": videos.name}
    dataset.save()
    yield root, dataset, videos
    videos.delete()


def test_export_writes_each_video_with_its_face_tracks_and_verify_checks_it(fo, folder, tmp_path, capsys):
    import eta.core.video as etav
    import fiftyone.utils.eta as foue

    root, dataset, videos = folder
    out = tmp_path / "export"
    summary = export_anonymized(dataset, FIELD, out, progress=False)
    counts = ("anonymized", "videos", "videos_without_faces", "copied")
    assert [summary[k] for k in counts] == [1, 1, 0, 1]
    assert {s["file"]: s["reason"].split(":")[0] for s in summary["skipped"]} == {
        "raw/never-imported.mp4": "a video that is not in the dataset, so never anonymized",
        "street/failed.mp4": f"no anonymized version in '{FIELD}' (its anonymization failed or never ran)"}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "notes.txt", "photo.png", "street/walk.mp4", "street/walk.mp4.faces.json"]  # nothing raw
    assert (out / "street/walk.mp4").read_bytes() == (tmp_path / "anon/street/walk.mp4").read_bytes()

    claim = json.loads(manifest_path(out).read_text())
    assert claim["files"]["street/walk.mp4.faces.json"] == {"kind": "added"}
    assert claim["files"]["street/walk.mp4"] == {
        "kind": "video", "frames": [[box for _, box in faces] for faces in track_boxes(FRAMES)]}
    assert claim["videos"]["mask"] == {"grow": 1.1, "ellipse": False, "fade_px": 4}

    # FiftyOne reads the face tracks back: every frame's boxes, each with its track id
    labels = foue.from_video_labels(etav.VideoLabels.from_json(str(out / "street/walk.mp4.faces.json")))[1]
    assert {n: [(d.index, d.bounding_box) for d in frame["faces"].detections] for n, frame in labels.items()} == {
        n: [(t, pytest.approx(b)) for t, b in faces] for n, faces in enumerate(track_boxes(FRAMES), 1)}
    assert labels[1]["faces"].detections[0]["source"] == "centerface"

    result = verify_export(root, out, progress=False)
    assert result["ok"], result["problems"]
    assert (result["anonymized_videos"], result["left_out"], result["files"]) == (1, 2, 4)
    checks = {c["check"]: c for c in result["checks"]}
    assert checks["videos keep the source's form"]["value"] == "1/1"
    assert checks["audio and subtitle streams identical to the source"]["value"] == "1/1"
    pixels = checks["video frames changed only inside the face masks"]
    assert pixels["ok"] and f"H.264: mean change in every frame <= {MAX_VIDEO_MEAN_DIFF:g}" in pixels["rule"]
    assert 0 < result["video_changed_outside_masks"] < 1  # re-encoding moves pixels, a little
    assert cli(["verify-export", str(root), str(out)]) == 0
    text = capsys.readouterr().out
    assert "ok   videos keep the source's form: 1/1 (rule: frame count, frame rate, width x height" in text
    assert "ok   audio and subtitle streams identical to the source: 1/1" in text


def test_a_lossless_video_comes_back_as_mkv_and_verify_catches_every_tampering(fo, folder, tmp_path):
    root, dataset, videos = folder
    boxes = [[box for _, box in faces] for faces in track_boxes(FRAMES)]
    target = video_target(tmp_path / "lossless/street/walk.mp4", "lossless")
    blur_faces(root / "street/walk.mp4", target, boxes, "lossless")
    sample = videos.match({"relpath": "street/walk.mp4"}).first()
    sample[FIELD] = str(target)
    sample.save()
    out = tmp_path / "export"
    export_anonymized(dataset, FIELD, out, progress=False)
    claim = json.loads(manifest_path(out).read_text())
    assert claim["files"]["street/walk.mkv"]["source"] == "street/walk.mp4"
    assert "street/walk.mkv.faces.json" in claim["files"] and not (out / "street/walk.mp4").exists()
    result = verify_export(root, out, progress=False)
    assert result["ok"], result["problems"]
    assert result["video_changed_outside_masks"] == 0.0  # lossless: not one pixel outside the masks

    exported, kept = out / "street/walk.mkv", tmp_path / "kept.mkv"
    shutil.copy(exported, kept)

    def outside_mask(i, frame):  # one pixel in the corner of frame 4, far from any face
        if i == 3:
            frame = frame.copy()
            frame[-1, -1] = 255 - frame[-1, -1]
        return frame

    tampered = {
        "pixel": blur_faces(root / "street/walk.mp4", tmp_path / "t/pixel.mkv", boxes, "lossless", outside_mask),
        "audio": remux(kept, tmp_path / "t/no-audio.mkv", lambda kind, n: kind == "video"),
        "short": remux(kept, tmp_path / "t/short.mkv", lambda kind, n: kind != "video" or n <= FRAMES - 2),
    }
    expected = {"pixel": ("video frames changed only inside the face masks", "outside the face masks changed"),
                "audio": ("audio and subtitle streams identical to the source", "audio/subtitle streams []"),
                "short": ("videos keep the source's form", f"shortened video: {FRAMES - 2} of {FRAMES} frames")}
    for name, path in tampered.items():
        shutil.copy(path, exported)
        result = verify_export(root, out, progress=False)
        failed = [c["check"] for c in result["checks"] if not c["ok"]]
        assert not result["ok"] and expected[name][0] in failed, (name, result["checks"])
        assert any(p.startswith("street/walk.mkv: ") and expected[name][1] in p for p in result["problems"]), \
            (name, result["problems"])


def test_a_single_video_source_exports_that_file_alone(fo, dataset, clip, tmp_path):
    """A source given as one file: its folder is the tree, its siblings are not part of it."""
    root = tmp_path / "phone"
    root.mkdir()
    shutil.copy(clip, root / "holiday.mp4")
    shutil.copy(clip, root / "other.mp4")
    (root / "other.txt").write_text("not part of the source\n")
    boxes = [[box for _, box in faces] for faces in track_boxes(FRAMES)]
    anonymized = blur_faces(root / "holiday.mp4", tmp_path / "anon/holiday.mp4", boxes, "h264")
    videos = video_dataset(fo, f"{dataset.name}-videos", root, {"holiday.mp4": anonymized}, tmp_path / "anon",
                           quality=28)  # a lower quality than the default: re-encoding may change more
    dataset.info["ldfa_source"] = {"format": "folder", "root": str(root), "people_fields": [],
                                   "videos_dataset": videos.name, "only": ["holiday.mp4"]}
    dataset.save()  # no image: the image dataset is empty and has no anonymization run
    out = tmp_path / "export"
    try:
        summary = export_anonymized(dataset, FIELD, out, progress=False)
        assert (summary["videos"], summary["copied"], summary["skipped"]) == (1, 0, [])
        assert sorted(p.name for p in out.iterdir()) == ["holiday.mp4", "holiday.mp4.faces.json"]
        result = verify_export(root, out, progress=False)
        assert result["ok"], result["problems"]
        assert result["checks"][0]["value"] == "2 exported, 0 left out, 0 unaccounted"
        assert result["checks"][-1]["rule"].endswith("H.264: mean change in every frame <= 9 (re-encoding)")
    finally:
        videos.delete()


def test_a_video_whose_faces_changed_after_it_was_written_is_refused(fo, folder, tmp_path):
    root, dataset, videos = folder
    sample = videos.match({"relpath": "street/walk.mp4"}).first()
    sample.frames[5]["faces"].detections[0].bounding_box = [0.0, 0.0, 0.1, 0.1]  # moved in review
    sample.save()
    with pytest.raises(ConfigError, match=r"1 video\(s\) of 'anon_gauss' are stale"):
        export_anonymized(dataset, FIELD, tmp_path / "export", progress=False)
    assert not (tmp_path / "export").exists()
