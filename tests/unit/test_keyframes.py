"""Keyframes for video diffusion (``video_keyframes``): a track's face diffused every k-th frame,
carried to the frames between on its landmarks, colour-matched; a face that cannot be carried is
diffused itself, and every face region of every frame is replaced.

The video runs through the real video core (``anonymize_video``: PyAV in, FFV1 out, so pixels
compare exactly) with the tiny random-weight diffusion pipeline; diffusion is counted by wrapping
the real painter (every face job it is handed), not by faking its results."""

from pathlib import Path

import numpy as np
import pytest

from ldfa.plugin.anonymization.carry import MAX_FILLED, Keyframe, align, carry
from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import FaceTask, ImagePlan, ImageTask, face_seed, load_painter, plan_faces, render
from ldfa.plugin.anonymization.video import FRAMES_PER_BATCH, VideoTask, anonymize_video
from ldfa.plugin.geometry.masks import face_region, face_shape, paste_region
from ldfa.plugin.io.video import read_frames
from ldfa_testing.videos import write_clip

W, H, FRAMES, STEP = 128, 96, 10, 2  # a face moves STEP px right each frame
FACE = (20, 24, 32, 40)  # x, y, w, h in pixels at frame 0
MARKS = np.array([[0.3, 0.35], [0.7, 0.35], [0.5, 0.55], [0.35, 0.75], [0.65, 0.75]])  # in the box
FAST = {"crop_size": 64, "num_inference_steps": 2, "context_px": 8}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from ldfa_testing.tiny_pipeline import build

    return str(build(tmp_path_factory.mktemp("tiny-sd")))


def moving_box(n: int) -> tuple[int, int, int, int]:
    x, y, w, h = FACE
    return x + STEP * n, y, w, h


def relative(box) -> tuple[float, ...]:
    x, y, w, h = box
    return x / W, y / H, w / W, h / H


def landmarks(box, turn: float = 0.0) -> tuple:
    """The 5 relative landmarks of a face at pixel ``box``, turned by ``turn`` degrees about its centre."""
    x, y, w, h = box
    points = MARKS * [w, h]
    c, s = np.cos(np.radians(turn)), np.sin(np.radians(turn))
    points = (points - [w / 2, h / 2]) @ np.array([[c, s], [-s, c]]) + [x + w / 2, y + h / 2]
    return tuple(map(tuple, points / [W, H]))


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A still textured background and a textured face crossing it, STEP px a frame (FFV1)."""
    path = tmp_path_factory.mktemp("clip") / "walk.mkv"
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    face = rng.integers(60, 200, (FACE[3], FACE[2], 3), dtype=np.uint8)
    frames = []
    for n in range(FRAMES):
        x, y, w, h = moving_box(n)
        frames.append(background.copy())
        frames[-1][y:y + h, x:x + w] = face
    return write_clip(path, frames, rate=10, codec="ffv1", crf=None, pix_fmt="bgr0")


STILL, UNTRACKED = (84, 10, 24, 28), (84, 56, 24, 28)


def faces_per_frame(others: bool = True, turned: int | None = None) -> tuple:
    """Per frame: the moving face with landmarks (track "a"; turned 40 degrees in frame ``turned``)
    and, with ``others``, a still face without landmarks (track "b", as a tracker-filled box)
    and a still face with landmarks but no track."""
    return tuple((FaceTask(f"a{n}", relative(moving_box(n)), track="v:a",
                           landmarks=landmarks(moving_box(n), 40.0 if n == turned else 0.0)),
                  *([FaceTask(f"b{n}", relative(STILL), track="v:b"),
                     FaceTask(f"c{n}", relative(UNTRACKED), landmarks=landmarks(UNTRACKED))] if others else []))
                 for n in range(FRAMES))


@pytest.fixture(scope="module")
def anonymized(clip, tiny, tmp_path_factory):
    """``anonymized(every, **faces)``: the anonymized frames, and the paste region of each face
    job diffusion got, by seed; each run once per module (diffusion is the slow part)."""
    runs = {}

    def run(every: int, **faces) -> tuple[list[np.ndarray], dict]:
        key = (every, *sorted(faces.items()))
        if key not in runs:
            config = AnonymizationConfig.build(method="ldfa", model=tiny, video_codec="lossless",
                                               video_keyframes=every, **FAST)
            painter = load_painter(config)
            diffused: dict[int, list[tuple]] = {}

            def counted(jobs):
                for job in jobs:
                    diffused.setdefault(job.seed, []).append(job.paste)
                return painter(jobs)

            target = tmp_path_factory.mktemp("out") / "out.mkv"
            result = anonymize_video(VideoTask("s", str(clip), str(target), faces_per_frame(**faces)), config, counted)
            assert result.error is None, result.error
            runs[key] = list(read_frames(result.target)), diffused
        return runs[key]

    return run


def moving_frames(diffused: dict) -> list[int]:
    """The frames the moving face (track "a") was diffused in, told by where its paste was."""
    pastes = [paste_region(face_region(W, H, relative(moving_box(n))), 4, W, H) for n in range(FRAMES)]
    return [pastes.index(paste) for paste in diffused[face_seed(0, "s", None, 0, "v:a")]]


def face_changed(before: np.ndarray, after: np.ndarray, box) -> float:
    x1, y1, x2, y2 = face_region(W, H, relative(box))
    return (before[y1:y2, x1:x2] != after[y1:y2, x1:x2]).any(-1).mean()


def test_every_kth_frame_is_diffused_and_every_face_replaced(clip, anonymized):
    frames, diffused = anonymized(4)
    assert moving_frames(diffused) == [0, 4, 8]  # ~k times fewer
    assert len(diffused[face_seed(0, "s", None, 0, "v:b")]) == FRAMES  # no landmarks: diffused in every frame
    assert len(diffused[face_seed(0, "s", relative(UNTRACKED), 0)]) == FRAMES  # no track: never carried
    for n, (before, after) in enumerate(zip(read_frames(clip), frames)):
        for box in (moving_box(n), STILL, UNTRACKED):
            assert face_changed(before, after, box) > 0.95, f"frame {n}: face {box} kept"


def test_a_keyframe_serves_the_next_batch_of_frames(clip, anonymized):
    """k=3: frame 8 (the second batch of FRAMES_PER_BATCH 8) is carried from keyframe 6."""
    frames, diffused = anonymized(3, others=False)
    assert moving_frames(diffused) == [0, 3, 6, 9]
    for n, (before, after) in enumerate(zip(read_frames(clip), frames)):
        assert face_changed(before, after, moving_box(n)) > 0.95, f"frame {n}: face kept"


def test_a_carried_face_is_its_keyframe_moved_with_the_person(anonymized):
    """Carried frames hold the keyframe's face where the landmarks went (one new person over
    time); diffusing every frame gives another face each frame."""
    carried, _ = anonymized(4)
    every, _ = anonymized(1)

    def change(frames, n):  # the face's mean change from frame n-1 to n, following it (interior)
        x, y, w, h = moving_box(n)
        inside = np.s_[y + 3:y + h - 3, x + 3:x + w - 3]
        moved = np.roll(frames[n - 1], STEP, axis=1)
        return np.abs(frames[n][inside].astype(int) - moved[inside]).mean()

    assert max(change(carried, n) for n in (1, 2, 3, 5, 6, 7, 9)) < 2
    assert min(change(every, n) for n in (1, 2, 3, 5, 6, 7, 9)) > 10


def test_one_keyframe_is_todays_output(clip, tiny, anonymized):
    """k=1 writes exactly what the image core renders for each batch of frames."""
    frames, diffused = anonymized(1)
    assert all(len(d) == FRAMES for d in diffused.values())
    config = AnonymizationConfig.build(method="ldfa", model=tiny, **FAST)
    painter, source, faces = load_painter(config), list(read_frames(clip)), faces_per_frame()
    expected = []
    for start in range(0, FRAMES, FRAMES_PER_BATCH):
        items = []
        for pixels, here in zip(source[start:start + FRAMES_PER_BATCH], faces[start:]):
            image = ImageTask("s", str(clip), "", here)
            items.append(ImagePlan(image, pixels, str(clip), 1, plan_faces(image, pixels, config)))
        expected += [pixels for pixels, _ in render(items, config, painter)]
    assert all((a == b).all() for a, b in zip(frames, expected, strict=True))


def test_a_poorly_aligned_face_is_diffused_and_becomes_the_keyframe(clip, anonymized):
    """Frame 2's landmarks turned 40 degrees: a pose no similarity follows, so frame 2 is diffused;
    frame 3 cannot be carried from that keyframe either (turned back), and starts again."""
    frames, diffused = anonymized(4, others=False, turned=2)
    assert moving_frames(diffused) == [0, 2, 3, 7]
    for n, (before, after) in enumerate(zip(read_frames(clip), frames)):
        assert face_changed(before, after, moving_box(n)) > 0.95


def key_at(box, pixels=None) -> Keyframe:
    region = face_region(W, H, relative(box))
    paste = paste_region(region, 4, W, H)
    shape = face_shape(region, paste)
    patch = np.random.default_rng(1).integers(0, 256, (*shape.shape, 3), dtype=np.uint8)
    image = np.full((H, W, 3), 128, np.uint8) if pixels is None else pixels
    x1, y1, x2, y2 = paste
    return Keyframe(0, np.asarray(landmarks(box)) * [W, H], paste, shape, image[y1:y2, x1:x2].copy(), patch)


def target(box, turn=0.0, marks=None):
    region = face_region(W, H, relative(box))
    paste = paste_region(region, 4, W, H)
    marks = np.asarray(landmarks(box, turn)) * [W, H] if marks is None else marks
    return marks, paste, face_shape(region, paste)


def test_the_alignment_rule():
    key = key_at(FACE)
    shifted = align(key, *target(moving_box(3)))
    assert shifted is not None and shifted.reached[target(moving_box(3))[2]].all()  # a pure shift: all reached
    assert align(key, *target(FACE, turn=10)) is not None
    assert align(key, *target(FACE, turn=20)) is None  # turned beyond MAX_TURN_DEGREES
    x, y, w, h = FACE
    bigger = (x - 8, y - 10, w + 16, h + 20)  # 1.5 times the size: beyond SCALE_RANGE
    assert align(key, *target(bigger)) is None
    marks = np.asarray(landmarks(FACE)) * [W, H]
    marks[2] += [0, 0.2 * w]  # the nose moved by a fifth of the face: no similarity fits
    assert align(key, *target(FACE, marks=marks)) is None
    # the same landmarks in a box taller by half: too much of the box the keyframe's face misses
    taller = target((x, y - 10, w, h + 20), marks=np.asarray(landmarks(FACE)) * [W, H])
    assert align(key, *taller) is None
    assert (taller[2].sum() - key.shape.sum()) / taller[2].sum() > MAX_FILLED


def test_the_carried_face_follows_the_light_and_holds_nothing_of_the_frame_but_its_colours():
    """The original grew brighter by 40 grey levels from the keyframe: so does the carried face.
    The frame's pixels enter only through the colour statistics of the face's parts seen in both
    frames: those pixels shuffled and every other one blackened give the same face (the part of
    the box and ring the keyframe's face does not reach is filled from the generated face)."""
    x, y, w, h = FACE
    rng = np.random.default_rng(2)
    before = rng.integers(60, 180, (H, W, 3), dtype=np.uint8)
    key = key_at(FACE, before)
    grown = (x - 2, y - 2, w + 4, h + 4)  # two pixels more each side, landmarks as they were
    marks, paste, shape = target(grown, marks=key.marks)
    alignment = align(key, marks, paste, shape)
    assert alignment is not None and not alignment.reached[shape].all()
    brighter = before + 40
    new = carry(key, alignment, brighter, paste, shape)
    assert new.shape == (*shape.shape, 3)
    assert 30 < new[shape].mean() - key.pixels[key.shape].mean() < 50
    x1, y1, x2, y2 = paste
    shuffled = brighter.copy()
    inside, both = shuffled[y1:y2, x1:x2], alignment.reached & shape
    inside[both] = rng.permutation(inside[both])
    inside[~both] = 0
    assert (shuffled != brighter).any()
    assert np.abs(carry(key, alignment, shuffled, paste, shape).astype(int) - new).max() <= 1
