"""The metrics over time through FiftyOne (``ldfa.plugin.metrics.temporal``): a real clip (8
frames of walkway.mp4, cropped to the people nearest the camera, faces 17-125 px) found by the
default detector and tracked, its faces blurred with OpenCV and written back by ``rewrite_video``
(H.264); then the same frames as an image sequence. Identity consistency uses FaceNet."""

import cv2
import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.detection.core import find_faces
from ldfa.plugin.detection.tracks import track_faces
from ldfa.plugin.geometry.boxes import from_corners
from ldfa.plugin.io.video import probe, read_frames, rewrite_video
from ldfa.plugin.metrics import temporal_core
from ldfa.plugin.metrics.temporal import measure_temporal
from ldfa.plugin.metrics.temporal_core import region
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.runs import run_results
from ldfa.plugin.schema import leaks_field, run_key, temporal_error_field
from ldfa_testing.videos import write_clip

FRAMES, CROP = 8, (slice(450, 990), slice(250, 1210))  # 960 x 540 around the nearest walkers
LEFT = 4  # the frame (index) a careless anonymization leaves as it was


@pytest.fixture(scope="module")
def walk(shared_data, tmp_path_factory):
    """The clip written as H.264 and its tracked faces per frame: [(pixel box, track id)]."""
    frames = [f[CROP] for f in read_frames(shared_data / "videos" / "walkway.mp4", stop=FRAMES)]
    folder = tmp_path_factory.mktemp("walk")
    clip = write_clip(folder / "walk.mp4", frames)
    found = find_faces(frames, [()] * FRAMES, DetectorConfig.build())
    tracked = track_faces(found, 960, 540, 25.0)
    return clip, frames, [[(tuple(face.box), track) for face, track in here] for here in tracked]


def blurred(frame, here):
    """Each face box blurred as ``gauss`` would (sigma an eighth of the face, at least 3 px)."""
    frame = frame.copy()
    for box, _ in here:
        x1, y1, x2, y2 = region(box, frame.shape[1], frame.shape[0])
        sigma = max(3.0, min(x2 - x1, y2 - y1) / 8)
        frame[y1:y2, x1:x2] = cv2.GaussianBlur(frame[y1:y2, x1:x2], (0, 0), sigma)
    return frame


def anonymized(walk, target, kept=()):
    """The clip with every face blurred but in the frames ``kept``, through ``rewrite_video``."""
    clip, _, faces = walk
    rewrite_video(clip, target, lambda first, batch: [
        f if first + k in kept else blurred(f, faces[first + k]) for k, f in enumerate(batch)])
    return str(target)


def video_dataset(fo, dataset, walk, versions: dict):
    clip, _, faces = walk
    sample = fo.Sample(filepath=str(clip), metadata=fo.VideoMetadata(**probe(clip).metadata()), **versions)
    for number, here in enumerate(faces, 1):
        sample.frames[number]["faces"] = fo.Detections(detections=[
            fo.Detection(label="face", bounding_box=from_corners(box, 960, 540), index=track) for box, track in here])
    dataset.add_sample(sample)
    return dataset


def test_a_clip_blurred_everywhere_leaks_nowhere_and_its_new_faces_stay_apart_from_the_old(fo, dataset, walk, tmp_path,
                                                                                         monkeypatch):
    """The original re-encoded as a "version" leaks every face frame: the rule sees through H.264.
    FaceNet embeds 3 frames a track (not 8: about 0.1-0.5 s a face here)."""
    monkeypatch.setattr(temporal_core, "SAMPLES_PER_TRACK", 3)
    _, _, faces = walk
    video_dataset(fo, dataset, walk, {"anon_blur": anonymized(walk, tmp_path / "blur.mp4"),
                                      "copy": anonymized(walk, tmp_path / "copy.mp4", kept=range(FRAMES))})
    tracks = {track for here in faces for _, track in here}
    assert len(tracks) >= 3 and sum(map(len, faces)) >= 3 * FRAMES, "the walkers were found"

    totals = measure_temporal(dataset, "anon_blur", progress=False)
    assert (totals["clips"], totals["frames"], totals["tracks"], totals["failed"]) == (1, FRAMES, len(tracks), [])
    assert totals["leaks"] == {"total": 0, "tracks": []}
    recorded = run_results(dataset, run_key("temporal", "anon_blur"))
    assert {k: v for k, v in recorded.items() if k != "cls"} == totals
    sample = dataset.first()
    assert (sample[leaks_field("anon_blur")], sample[temporal_error_field("anon_blur")]) == (0, None)
    consistency = totals["consistency"]
    assert consistency["embedder"] == "facenet" and consistency["judged"] >= 2
    assert consistency["anonymized"] < consistency["to_original"], consistency
    assert totals["flicker"]["anonymized"] < totals["flicker"]["original"], "a blur calms the face"

    copied = measure_temporal(dataset, "copy", embedder=None, progress=False)
    assert copied["leaks"]["total"] == sum(map(len, faces))
    assert copied["flicker"]["ratio"] == pytest.approx(1.0, abs=0.05)


def test_a_frame_left_unblurred_is_exactly_that_frames_leak(fo, dataset, walk, tmp_path):
    _, _, faces = walk
    video_dataset(fo, dataset, walk, {"anon_blur": anonymized(walk, tmp_path / "blur.mp4", kept={LEFT})})
    totals = measure_temporal(dataset, "anon_blur", embedder=None, progress=False)
    number = LEFT + 1  # FiftyOne numbers frames from 1
    assert totals["leaks"]["total"] == len(faces[LEFT])
    assert sorted(totals["leaks"]["tracks"], key=lambda t: t["track"]) == [
        {"clip": dataset.first().filepath, "track": track, "frames": [number]}
        for track in sorted(t for _, t in faces[LEFT])]
    assert dataset.first()[leaks_field("anon_blur")] == len(faces[LEFT])


def test_an_anonymized_video_with_a_frame_missing_is_a_failure(fo, dataset, walk, tmp_path):
    _, frames, faces = walk
    short = write_clip(tmp_path / "short.mp4", [blurred(f, here) for f, here in zip(frames[:-1], faces)])
    video_dataset(fo, dataset, walk, {"anon_blur": str(short)})
    totals = measure_temporal(dataset, "anon_blur", embedder=None, progress=False)
    reason = f"anonymized video has {FRAMES - 1} frames, original {FRAMES}"
    assert totals["failed"] == [{"clip": dataset.first().filepath, "reason": reason}]
    assert (totals["frames"], totals["leaks"]["total"]) == (FRAMES - 1, 0)
    assert dataset.first()[temporal_error_field("anon_blur")] == reason


def test_a_sequence_of_images_is_measured_in_frame_order(fo, dataset, walk, tmp_path):
    """Frames numbered 10, 20, ... added out of order; the one left unblurred is the one reported,
    and only its image counts leaks. A second sequence lacks an anonymized image: its failure says
    which frame."""
    _, frames, faces = walk
    samples = []
    for index in reversed(range(FRAMES)):
        number, here = 10 * (index + 1), faces[index]
        original, version = tmp_path / f"frame_{number:03d}.png", tmp_path / f"anon_{number:03d}.png"
        Image.fromarray(frames[index]).save(original)
        Image.fromarray(frames[index] if index == LEFT else blurred(frames[index], here)).save(version)
        samples.append(fo.Sample(filepath=str(original), anon_blur=str(version), sequence="walk", sequence_frame=number,
                                 faces=fo.Detections(detections=[
                                     fo.Detection(label="face", bounding_box=from_corners(box, 960, 540), index=track)
                                     for box, track in here])))
    gap = [fo.Sample(filepath=samples[-1].filepath, anon_blur=samples[-1].anon_blur, sequence="gap", sequence_frame=1),
           fo.Sample(filepath=samples[-2].filepath, sequence="gap", sequence_frame=2)]
    dataset.add_samples(samples + gap + [fo.Sample(filepath=samples[0].filepath)])  # the last: in no sequence
    totals = measure_temporal(dataset, "anon_blur", embedder=None, progress=False)
    assert (totals["clips"], totals["frames"]) == (2, FRAMES)
    assert totals["failed"] == [{"clip": "gap", "reason": "frame 2: no 'anon_blur' image"}]
    assert sorted(totals["leaks"]["tracks"], key=lambda t: t["track"]) == [
        {"clip": "walk", "track": track, "frames": [10 * (LEFT + 1)]} for track in sorted(t for _, t in faces[LEFT])]
    walk_view = dataset.match(fo.ViewField("sequence") == "walk")
    leaks = dict(zip(walk_view.values("sequence_frame"), walk_view.values(leaks_field("anon_blur"))))
    assert leaks == {**{10 * (i + 1): 0 for i in range(FRAMES) if i != LEFT}, 10 * (LEFT + 1): len(faces[LEFT])}
    [flicker] = set(walk_view.values("anon_blur_flicker"))
    assert np.isfinite(flicker), "every frame holds its sequence's flicker"
    assert dataset.match(fo.ViewField("sequence") == "gap").values(temporal_error_field("anon_blur")) == [
        "frame 2: no 'anon_blur' image"] * 2
    assert dataset.exists("sequence", False).values(leaks_field("anon_blur")) == [None]
