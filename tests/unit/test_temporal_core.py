"""The metrics over time on their own (``metrics/temporal_core.py``): frames in, each track's
leaks, flicker and identity consistency out, no database. The clip is the astronaut photo
panning 4 px a frame (her face moving with it); anonymized versions blur her face, paste Grace
Hopper's face over it (a new person, the same in every frame), or leave a frame untouched.
Identity uses dlib, whose weights ship in a wheel (FaceNet's are left to the integration test)."""

import cv2
import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.geometry.boxes import to_corners
from ldfa.plugin.io.video import read_frames, rewrite_video
from ldfa.plugin.metrics.temporal_core import SAMPLES_PER_TRACK, detail_kept, measure_clip, region
from ldfa.plugin.models.embedders import load_embedder
from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE
from ldfa_testing.videos import write_clip

STEP = 4  # px the camera pans per frame


@pytest.fixture(scope="module")
def photos(sample_photos):
    """The astronaut (512 x 512) and Grace Hopper's face alone, as RGB arrays."""
    astronaut, hopper = (np.array(Image.open(p).convert("RGB")) for p in sample_photos)
    x1, y1, x2, y2 = region(to_corners(HOPPER_FACE, hopper.shape[1], hopper.shape[0]), hopper.shape[1], hopper.shape[0])
    return astronaut, hopper[y1:y2, x1:x2]


def panning(astronaut, n: int):
    """n frames of the panning clip and their faces (one track, id 7)."""
    face = to_corners(ASTRONAUT_FACE, 512, 512)
    frames = [np.roll(astronaut, STEP * t, axis=1) for t in range(n)]
    faces = [[(tuple(face + [STEP * t, 0, STEP * t, 0]), 7)] for t in range(n)]
    return frames, faces


def replaced(frames, faces, paint):
    """Each frame with its face box painted by ``paint(box_pixels, frame_index)``."""
    out = []
    for t, (frame, here) in enumerate(zip(frames, faces)):
        frame = frame.copy()
        for box, _ in here:
            x1, y1, x2, y2 = region(box, frame.shape[1], frame.shape[0])
            frame[y1:y2, x1:x2] = paint(frame[y1:y2, x1:x2], t)
        out.append(frame)
    return out


def blur(pixels, _t):
    return cv2.GaussianBlur(pixels, (0, 0), 6)


def test_a_face_blurred_in_every_frame_leaks_in_none(photos):
    frames, faces = panning(photos[0], 6)
    clip = measure_clip(frames, replaced(frames, faces, blur), faces)
    assert (clip.frames, clip.failure, list(clip.tracks)) == (6, None, [7])
    assert (clip.tracks[7].frames, clip.tracks[7].leaks, clip.leaks) == (6, [], 0)


def test_a_frame_left_original_is_that_frames_leak(photos):
    frames, faces = panning(photos[0], 6)
    anonymized = replaced(frames, faces, blur)
    anonymized[3] = frames[3]
    assert measure_clip(frames, anonymized, faces).tracks[7].leaks == [3]


def test_leaks_are_told_apart_through_h264_reencoding(photos, tmp_path):
    """The rule holds after the real encoder: unchanged faces moved by H.264 (crf 18) still leak,
    blurred ones still do not."""
    frames, faces = panning(photos[0], 6)
    source = tmp_path / "pan.mp4"
    write_clip(source, frames, crf=10)

    def edit(first, batch):
        return [f if first + k == 2 else replaced([f], [faces[first + k]], blur)[0] for k, f in enumerate(batch)]

    rewrite_video(source, tmp_path / "blurred.mp4", edit)
    clip = measure_clip(read_frames(source), read_frames(tmp_path / "blurred.mp4"), faces)
    assert (clip.frames, clip.failure, clip.tracks[7].leaks) == (6, None, [2])


def test_a_flat_box_has_no_detail_to_leak():
    flat = np.full((30, 30), 90.0, np.float32)
    assert detail_kept(flat, flat) is None
    assert detail_kept(np.zeros((1, 30), np.float32), np.zeros((1, 30), np.float32)) is None


def test_a_replacement_that_changes_every_frame_flickers_more_than_a_steady_one(photos):
    frames, faces = panning(photos[0], 6)
    hopper = photos[1]
    rng = np.random.default_rng(0)

    def steady(pixels, _t):
        return cv2.resize(hopper, (pixels.shape[1], pixels.shape[0]))

    def noisy(pixels, _t):
        return rng.integers(0, 256, pixels.shape, dtype=np.uint8)

    calm, jumpy = (measure_clip(frames, replaced(frames, faces, paint), faces) for paint in (steady, noisy))
    (calm_anon, calm_orig), (jumpy_anon, jumpy_orig) = calm.tracks[7].flicker, jumpy.tracks[7].flicker
    assert calm_orig == jumpy_orig > 0, "the original's own change (the pan) is the same beside both"
    assert calm.tracks[7].pairs == 5 and calm.flicker == calm.tracks[7].flicker
    # A steady new face moves as the original does (ratio 1.17 here); noise redrawn each frame
    # more than doubles the change (2.66).
    assert calm_anon < 1.5 * calm_orig < 0.75 * jumpy_anon, (calm_anon, jumpy_anon, calm_orig)


def test_clips_of_different_lengths_are_a_failure_measured_over_their_common_frames(photos):
    frames, faces = panning(photos[0], 6)
    anonymized = replaced(frames, faces, blur)
    short = measure_clip(iter(frames), iter(anonymized[:5]), faces)
    assert (short.failure, short.frames, short.tracks[7].frames) == ("anonymized video has 5 frames, original 6", 5, 5)
    long = measure_clip(frames[:4], anonymized, faces)
    assert long.failure == "anonymized video has 6 frames, original 4"


@pytest.fixture(scope="module")
def dlib():
    return load_embedder("dlib")


def test_one_new_person_in_every_frame_is_consistent_and_far_from_the_original(photos, dlib):
    frames, faces = panning(photos[0], 6)
    anonymized = replaced(frames, faces, lambda p, _t: cv2.resize(photos[1], (p.shape[1], p.shape[0])))
    track = measure_clip(frames, anonymized, faces, embedder=dlib).tracks[7]
    assert track.reason is None
    assert track.same_anonymized < 0.2 * dlib.threshold, "the same new face in every frame"
    assert track.same_original < 0.5 * dlib.threshold, "the panning astronaut is one person"
    assert track.to_original > dlib.threshold, "the new face is someone else"
    assert track.leaks == []


def test_faces_without_an_identity_get_a_reason_not_a_number(photos, dlib):
    frames, faces = panning(photos[0], 4)
    solid = measure_clip(frames, replaced(frames, faces, lambda p, _t: np.zeros_like(p)), faces, embedder=dlib)
    assert solid.tracks[7].same_anonymized is None and solid.tracks[7].to_original is None
    assert solid.tracks[7].reason == "anonymized faces: face area is a uniform fill (no face left)"
    tiny = [[((100.0, 100.0, 110.0, 110.0), 1)] for _ in frames]  # 10 px: under dlib's 14
    small = measure_clip(frames, frames, tiny, embedder=dlib).tracks[1]
    assert small.same_anonymized is None
    assert small.reason == "no face of the track is 14 px or more: dlib cannot judge it"


def test_at_most_a_few_frames_of_a_track_are_embedded(photos, dlib):
    """Each embedding costs: a track of 20 frames is sampled evenly, first and last included."""
    frames, faces = panning(photos[0], 20)
    embedded = []

    class Counted(type(dlib)):
        def __init__(self):
            self.__dict__.update(dlib.__dict__)

        def embed(self, image, boxes):
            embedded.append(boxes[0].box[0])
            return super().embed(image, boxes)

    track = measure_clip(frames, frames, faces, embedder=Counted()).tracks[7]
    firsts = [faces[t][0][0][0] for t in (0, 19)]
    assert len(embedded) == 2 * SAMPLES_PER_TRACK, "original and anonymized face of each sampled frame"
    assert set(firsts) <= set(embedded)
    assert track.same_anonymized == pytest.approx(track.same_original) and track.to_original == pytest.approx(0)
