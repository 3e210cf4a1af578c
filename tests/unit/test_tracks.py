"""Faces followed across frames (ldfa.plugin.detection.tracks) on synthetic face sequences: no
face dropped, gaps and ends filled, ids kept apart, boxes only ever grown."""

import numpy as np
import pytest

from ldfa.plugin.detection.core import nested_pairs
from ldfa.plugin.detection.track_config import TrackConfig
from ldfa.plugin.detection.tracks import track_faces
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.models.detector.backends import Face

W, H, RATE = 640, 480, 30.0
EXACT = TrackConfig(smooth=0)  # no smoothing: filled boxes are exactly interpolated


def face(x: float, y: float, size: float = 60.0, score: float | None = 0.9) -> Face:
    marks = np.array([[x + 20, y + 25], [x + 40, y + 25], [x + 30, y + 35], [x + 22, y + 45], [x + 38, y + 45]])
    return Face(np.array([x, y, x + size, y + size], dtype=np.float32), score, marks, "centerface")


def walk(frames: int, x0: float, y0: float, dx: float, dy: float = 0.0, **kw) -> list[Face]:
    return [face(x0 + dx * t, y0 + dy * t, **kw) for t in range(frames)]


def found(out, t):
    """The detector's faces of frame t with their ids (the filled ones left out)."""
    return [(f, k) for f, k in out[t] if f.source != "track"]


def filled(out, t):
    return [(f, k) for f, k in out[t] if f.source == "track"]


def contains(outer, inner) -> bool:
    return bool((outer[:2] <= inner[:2] + 1e-4).all() and (outer[2:] >= inner[2:] - 1e-4).all())


def test_a_face_missed_in_one_frame_is_interpolated_there():
    path = walk(7, 100, 100, dx=12, dy=4)
    frames = [[f] for f in path]
    frames[3] = []
    out = track_faces(frames, W, H, RATE, EXACT)
    [(gap, k)] = out[3]
    assert gap.source == "track" and gap.score is None
    np.testing.assert_allclose(gap.box, (path[2].box + path[4].box) / 2, atol=1e-4)
    np.testing.assert_allclose(gap.landmarks, (path[2].landmarks + path[4].landmarks) / 2, atol=1e-4)
    assert {k} == {i for t in (0, 1, 2, 4, 5, 6) for _, i in found(out, t)}
    # smoothing on: the gap is still covered at least by the interpolated box
    [(smoothed, _)] = track_faces(frames, W, H, RATE, TrackConfig(smooth=2))[3]
    assert contains(smoothed.box, gap.box)


def test_padding_before_and_after_a_track_is_clipped_to_the_frame():
    frames = [[] for _ in range(10)]
    for t in (4, 5, 6):  # over the left and bottom edges, moving up and right
        frames[t] = [face(-20 + 10 * (t - 4), 440 - 10 * (t - 4), size=70)]
    out = track_faces(frames, W, H, RATE, TrackConfig(pad_frames=2, smooth=0))
    for t, box in ((2, [0, 440, 50, H]), (3, [0, 440, 50, H]), (7, [0, 420, 70, H]), (8, [0, 420, 70, H])):
        [(pad, _)] = filled(out, t)  # the first box before, the last one after
        assert pad.score is None and pad.landmarks is None
        np.testing.assert_allclose(pad.box, box)
    assert out[0] == out[1] == out[9] == []
    assert len({k for faces in out for _, k in faces}) == 1
    # at the clip's ends the padding stops at its first and last frame
    edge = track_faces([[face(300, 200)], [], []], W, H, RATE, TrackConfig(pad_frames=5, smooth=0))
    assert [len(faces) for faces in edge] == [1, 1, 1]


def test_a_weak_face_continuing_a_track_keeps_the_tracks_id():
    path = walk(6, 50, 50, dx=10)
    weak = face(*path[3].box[:2], score=0.2)
    frames = [[f] for f in path[:3]] + [[weak]] + [[f] for f in path[4:]]
    lone = face(500, 380, score=0.15)  # weak and alone: starts no track, kept all the same
    frames[1].append(lone)
    out = track_faces(frames, W, H, RATE, TrackConfig(high=0.5, low=0.1))
    [(kept, k)] = found(out, 3)
    assert kept is not None and kept.score == pytest.approx(0.2) and kept.source == "centerface"
    assert {k} == {i for t in (0, 2, 4, 5) for _, i in found(out, t)}
    assert len(found(out, 1)) == 2 and found(out, 1)[1][1] != k


def test_crossing_faces_keep_their_own_ids():
    left = walk(24, 40, 200, dx=22)
    right = walk(24, 546, 215, dx=-22)
    out = track_faces([[a, b] for a, b in zip(left, right)], W, H, RATE)
    xs: dict[int, list[float]] = {}
    for faces in out:
        for f, k in faces:
            xs.setdefault(k, []).append(f.box[0])
    assert len(xs) == 2
    motions = sorted(np.sign(np.diff(x)).tolist() for x in xs.values())
    assert motions == [[-1.0] * 23, [1.0] * 23]  # each id moves one way only: no swap at the crossing


def test_no_face_is_left_uncovered_each_face_is_one_box_and_ids_count_from_zero():
    rng = np.random.default_rng(7)
    frames = []
    for _ in range(30):
        n = int(rng.integers(0, 6))
        frames.append([face(*rng.uniform(-30, 600, 2), size=float(rng.uniform(10, 80)),
                            score=None if rng.random() < 0.1 else float(rng.uniform(0.01, 1.0)))
                       for _ in range(n)])
    out = track_faces(frames, W, H, RATE)
    assert len(out) == len(frames)
    for faces, result in zip(frames, out):
        for given in faces:  # each box grown at most, or merged into a face that covers it
            assert any(contains(got.box, given.box) for got, _ in result)
        assert nested_pairs([f.box for f, _ in result]) == 0
        ids = [k for _, k in result]
        assert len(ids) == len(set(ids)), "one track twice in a frame"
    all_ids = {k for result in out for _, k in result}
    assert all_ids == set(range(len(all_ids))) and all(type(k) is int for k in all_ids)


def test_a_box_a_track_fills_onto_another_tracks_face_is_merged_into_the_face_found_there():
    """A small face seen in frames 0-3 where a big one is seen from frame 4 (two tracks: too
    little overlap to be one): each track's padding lands on the other's face. In each frame the
    face found there survives with its track's id, grown over the padding it took in."""
    small, big = face(210, 150, size=30), face(200, 100, size=100)
    out = track_faces([[small]] * 4 + [[big]] * 6, W, H, RATE, TrackConfig(pad_frames=2, smooth=0))
    assert [len(faces) for faces in out] == [1] * 10, "one box per face"
    [(_, k_small)], [(_, k_big)] = out[0], out[9]
    assert k_small != k_big
    for t, faces in enumerate(out):
        [(got, k)] = faces
        assert got.source == "centerface" and got.landmarks is not None  # never the filled box
        assert k == (k_small if t < 4 else k_big)
        np.testing.assert_allclose(got.box, big.box if t >= 2 else small.box)  # covers both from frame 2


def test_of_two_faces_found_one_inside_the_other_the_longer_track_keeps_the_face():
    """A face held all clip long, and a second box inside it for two frames (a sharper score):
    the long track keeps the face, the short one loses every frame and its id is not left as a gap."""
    outer, inner = face(200, 100, size=100, score=0.6), face(220, 120, size=40, score=0.95)
    frames = [[outer, inner] if t in (2, 3) else [outer] for t in range(6)]
    out = track_faces(frames, W, H, RATE, EXACT)
    for faces in out:
        [(got, k)] = faces
        assert k == 0 and got.score == pytest.approx(0.6)
        np.testing.assert_allclose(got.box, outer.box)


def test_smoothing_only_grows_boxes():
    rng = np.random.default_rng(3)
    frames = [[face(100 + 5 * t + rng.normal(0, 4), 120 + rng.normal(0, 4), size=60 + rng.normal(0, 5))]
              for t in range(20)]
    out = track_faces(frames, W, H, RATE, TrackConfig(smooth=3))
    grown = 0
    for given, result in zip(frames, out):
        [(got, _)] = result
        assert contains(got.box, given[0].box)
        grown += not np.allclose(got.box, given[0].box)
    assert grown > 10  # the smoothing did something


def test_a_gap_longer_than_max_gap_splits_the_track():
    frames = [[face(200, 200)] for _ in range(5)] + [[] for _ in range(20)] + [[face(200, 200)] for _ in range(5)]
    near = track_faces(frames, W, H, RATE, TrackConfig(max_gap=30, pad_frames=1))
    assert all(len(faces) == 1 for faces in near) and len({k for fs in near for _, k in fs}) == 1
    far = track_faces(frames, W, H, RATE, TrackConfig(max_gap=5, pad_frames=1))
    assert [len(faces) for faces in far[4:26]] == [1, 1] + [0] * 18 + [1, 1]
    assert len({k for fs in far for _, k in fs}) == 2
    # max_gap counts frames at 30 fps: at 3 fps, 30 is three frames of the clip, too few for 20
    assert len({k for fs in track_faces(frames, W, H, 3.0, TrackConfig(max_gap=30)) for _, k in fs}) == 2


def test_empty_clips_and_frames():
    assert track_faces([], W, H, RATE) == []
    assert track_faces([[], [], []], W, H, RATE) == [[], [], []]
    out = track_faces([[], [face(300, 200)], [], [], [face(300, 200)], []], W, H, RATE, TrackConfig(pad_frames=1))
    assert [len(faces) for faces in out] == [1, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("bad", [TrackConfig(low=0.6, high=0.5), TrackConfig(pad_frames=-1), TrackConfig(high=1.5)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ConfigError, match="track|pad_frames|high"):
        track_faces([[face(10, 10)]], W, H, RATE, bad)


def test_a_weak_candidate_is_kept_where_it_continues_a_kept_faces_track_and_nowhere_else():
    """ByteTrack's second threshold: the detector's weak candidates (no pass kept them) extend a
    track past its last kept face, beyond any padding; a candidate alone starts nothing."""
    from dataclasses import replace

    path = walk(12, 100, 100, dx=10)
    weak = [replace(f, score=0.15, source="candidate") for f in path]
    lone = replace(face(450, 300, score=0.15), source="candidate")
    frames = [[path[t]] if t < 4 else [weak[t]] for t in range(12)]
    frames[6].append(lone)
    out = track_faces(frames, W, H, RATE, EXACT)
    for t in range(12):
        faces = [(f, k) for f, k in out[t] if f.source == "candidate"]
        assert len(faces) == (1 if t >= 4 else 0), t  # every candidate of the track, the lone one not
        assert {k for _, k in out[t]} == {0}
    assert not any(contains(f.box, lone.box) for f, _ in out[6])
