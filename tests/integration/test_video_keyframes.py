"""Keyframes through the stages: the landmarks detection stored reach the video core, and a
track's face diffused every 4th frame and carried between changes less over time than a face
diffused in every frame, with no face region left in the clear."""

import pytest

from ldfa_testing.videos import cut, shared_clip

FAST = {"crop_size": 64, "num_inference_steps": 2, "context_px": 8}


def test_face_tasks_carry_the_detections_landmarks(fo):
    from ldfa.plugin.anonymization.records import face_tasks

    marks = [[0.1, 0.2], [0.3, 0.2], [0.2, 0.3], [0.12, 0.4], [0.28, 0.4]]
    faces = fo.Detections(detections=[fo.Detection(label="face", bounding_box=[0.05, 0.1, 0.3, 0.4], index=3,
                                                   landmarks=marks),
                                      fo.Detection(label="face", bounding_box=[0.5, 0.1, 0.2, 0.3], index=4)])
    with_marks, without = face_tasks(faces, None, tracks="clip")
    assert with_marks.landmarks == tuple(map(tuple, marks)) and with_marks.track == "clip:3"
    assert without.landmarks is None and without.track == "clip:4"


def followed_likeness(frames, face_before, face_after, width: int, height: int) -> float:
    """How alike frame 2 is to frame 1 moved by the similarity taking its landmarks to frame 2's
    (the carry's alignment), where frame 1's face box lands inside frame 2's (3 px in): the
    correlation of their grey values (1: the same face, in any light)."""
    import math

    import cv2
    import numpy as np

    scale = np.array([width, height])
    matrix, _ = cv2.estimateAffinePartial2D(np.float32(face_before.landmarks) * scale,
                                            np.float32(face_after.landmarks) * scale,
                                            method=cv2.RANSAC, ransacReprojThreshold=math.inf)

    def box_mask(face):
        x, y, w, h = (np.array(face.bounding_box) * [width, height, width, height]).round().astype(int)
        mask = np.zeros((height, width), np.uint8)
        mask[y + 3:y + h - 3, x + 3:x + w - 3] = 1
        return mask

    inside = (cv2.warpAffine(box_mask(face_before), matrix, (width, height), flags=cv2.INTER_NEAREST) > 0) \
        & (box_mask(face_after) > 0)
    moved = cv2.warpAffine(frames[0], matrix, (width, height))
    grey = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[inside].astype(float) for image in (moved, frames[1])]
    return float(np.corrcoef(*grey)[0, 1])


def apart(faces_per_frame, wanted: int) -> set[int]:
    """Up to ``wanted`` tracks, largest first, whose boxes never overlap in any frame (where faces
    overlap, one face's paste covers the other's)."""
    def overlap(a, b):
        return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]

    kept = set()
    for face in sorted(faces_per_frame[0], key=lambda d: -d.bounding_box[2]):
        if len(kept) < wanted and not any(overlap(d.bounding_box, e.bounding_box) for faces in faces_per_frame
                                          for d in faces if d.index == face.index
                                          for e in faces if e.index in kept):
            kept.add(face.index)
    return kept


@pytest.mark.slow
def test_keyframes_carry_a_tracks_face_and_leak_nothing(fo, dataset, tiny_model, tmp_path):
    """With k=4, a track's face in frame 2 is its face of frame 1 moved with the landmarks; with
    k=1 another face. Flicker (``temporal_core``) cannot tell them apart here: the tiny model's
    faces are noise, which changes as much when it moves a few pixels as when drawn again."""
    import ldfa
    from ldfa.plugin.io.video import probe, read_frames
    from ldfa.plugin.metrics.temporal import measure_temporal

    (tmp_path / "in").mkdir()
    clip = cut(shared_clip("walkway.mp4"), tmp_path / "in" / "walkway.mp4", 6, 0.5)
    dataset.add_sample(fo.Sample(filepath=str(clip), metadata=fo.VideoMetadata(**probe(clip).metadata())))
    ldfa.detect_faces(dataset, progress=False)
    sample = dataset.first()
    # Three faces of the first frame, followed: the diffusion stays short.
    kept = apart([sample.frames[n]["faces"].detections for n in range(1, 7)], 3)
    for n in range(1, 7):
        faces = sample.frames[n]["faces"]
        faces.detections = [d for d in faces.detections if d.index in kept]
    sample.save()
    first = {d.index: d for d in sample.frames[1]["faces"].detections if d.has_field("landmarks")}
    pairs = [(first[d.index], d) for d in sample.frames[2]["faces"].detections
             if d.index in first and d.has_field("landmarks")]
    assert len(pairs) >= 2

    likeness = {}
    for every in (1, 4):
        field = f"anon_k{every}"
        summary = ldfa.anonymize_faces(dataset, method="ldfa", model=tiny_model, field=field,
                                       output_dir=tmp_path / field, video_keyframes=every,
                                       video_codec="lossless", progress=False, **FAST)
        assert summary.written == 1 and summary.failed == 0
        assert measure_temporal(dataset, field, embedder=None, progress=False)["leaks"]["total"] == 0
        sample.reload()
        frames = list(read_frames(sample[field]))
        likeness[every] = [followed_likeness(frames, *pair, 960, 540) for pair in pairs]
    # k=1 diffuses each frame with the track's one seed: a face that barely moved comes out alike
    assert min(likeness[4]) > 0.98 and max(likeness[1]) < 0.9, likeness
