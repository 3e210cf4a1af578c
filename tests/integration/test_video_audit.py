"""The audit of videos and frame sequences: saved views of the leaks, the audit panel's figures
over time with each leaking track, and the side-by-side of one frame of every version.

A real clip (walkway.mp4's first frames at half size) is detected and tracked, anonymized with
``solid`` (every face replaced) and with ``pixelate`` while frame ``LEFT`` had no faces (a careless
version: that frame's faces stay in the clear), then measured over time; the same frames, saved
as images, make a frame sequence anonymized the same two ways.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.video import probe, read_frames
from ldfa.plugin.metrics.temporal import measure_temporal
from ldfa.plugin.runs import run_results
from ldfa.plugin.schema import faces_under_view, leaks_field, leaks_view, run_key
from ldfa_testing.panels import call_panel, shown_view
from ldfa_testing.videos import cut, shared_clip

FRAMES, LEFT = 4, 3  # LEFT: the frame (FiftyOne numbers from 1) the careless version never saw faces in
STEP = 10  # the sequence's images are frames 10, 20, ...: numbers come from sequence_frame, not order
VERSIONS = ("anon_pixelate", "anon_solid")


def careless(dataset, hide, faces_field: str = "faces", **anonymize) -> None:
    """Anonymize with ``anonymize`` while ``hide(dataset)`` (a frame or an image) has no faces, then give
    them back: what a version written before those faces were found (or added in review) holds."""
    import fiftyone as fo

    holder = hide(dataset)
    kept = holder[faces_field]
    holder[faces_field] = fo.Detections()
    holder.save()
    ldfa.anonymize_faces(dataset, progress=False, **anonymize)
    holder = hide(dataset)  # fresh from the database: the anonymization wrote every other frame's faces
    holder[faces_field] = kept
    holder.save()


def totals(dataset, field: str) -> dict:
    """What the temporal run of ``field`` recorded."""
    return run_results(dataset, run_key("temporal", field))


@pytest.fixture(scope="module")
def videos(fo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("video-audit")
    (folder / "clips").mkdir()
    clip = cut(shared_clip("walkway.mp4"), folder / "clips" / "walkway.mp4", FRAMES, 0.5)
    dataset = fo.Dataset(f"video-audit-{uuid.uuid4().hex[:6]}")
    dataset.add_sample(fo.Sample(filepath=str(clip), metadata=fo.VideoMetadata(**probe(clip).metadata())))
    ldfa.detect_faces(dataset, progress=False)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=folder / "solid", progress=False)
    careless(dataset, lambda d: d.first().frames[LEFT], method="pixelate", output_dir=folder / "pixelate")
    for field in VERSIONS:
        measure_temporal(dataset, field, embedder=None, progress=False)
    yield dataset
    dataset.delete()


@pytest.fixture(scope="module")
def sequences(fo, videos, tmp_path_factory):
    """The video's frames as an image sequence with the video's face tracks."""
    folder = tmp_path_factory.mktemp("sequence-audit")
    (folder / "walk").mkdir()
    video = videos.first()
    samples = []
    for number, frame in enumerate(read_frames(video.filepath), 1):
        path = folder / "walk" / f"{number * STEP:06d}.png"
        Image.fromarray(frame).save(path)
        samples.append(fo.Sample(filepath=str(path), sequence="walk", sequence_frame=number * STEP, faces=fo.Detections(
            detections=[fo.Detection(label="face", bounding_box=d.bounding_box, index=d.index, confidence=d.confidence)
                        for d in video.frames[number]["faces"].detections])))
    dataset = fo.Dataset(f"sequence-audit-{uuid.uuid4().hex[:6]}")
    dataset.add_samples(samples)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=folder / "solid", progress=False)
    careless(dataset, lambda d: d.match(fo.ViewField("sequence_frame") == LEFT * STEP).first(),
             method="pixelate", output_dir=folder / "pixelate")
    for field in VERSIONS:
        measure_temporal(dataset, field, embedder=None, progress=False)
    yield dataset
    dataset.delete()


def leaking_tracks(dataset, field: str) -> list[dict]:
    return totals(dataset, field)["leaks"]["tracks"]


def test_the_careless_version_leaks_the_hidden_frame_only(videos, sequences):
    """The fixtures' premise, from the temporal run: every other test reads these leaks."""
    in_frame = {d.index for d in videos.first().frames[LEFT]["faces"].detections}
    for dataset, frame in ((videos, LEFT), (sequences, LEFT * STEP)):
        assert totals(dataset, "anon_solid")["leaks"] == {"total": 0, "tracks": []}
        tracks = leaking_tracks(dataset, "anon_pixelate")
        assert tracks and all(t["frames"] == [frame] for t in tracks), tracks
        assert {t["track"] for t in tracks} <= in_frame


def test_saved_views_hold_each_versions_leaking_videos(videos):
    import fiftyone.operators as foo

    names = ldfa.save_audit_views(videos)
    assert {leaks_view(f) for f in VERSIONS} <= set(names) and faces_under_view() in names
    leaking = videos.load_saved_view(leaks_view("anon_pixelate"))
    assert leaking.values("filepath") == videos.values("filepath")
    assert leaking.values(leaks_field("anon_pixelate")) == [totals(videos, "anon_pixelate")["leaks"]["total"]]
    assert len(videos.load_saved_view(leaks_view("anon_solid"))) == 0
    # a video's small faces: the videos with only faces under 32 px on their frames
    small = videos.load_saved_view(faces_under_view())
    width, height = videos.first().metadata.frame_width, videos.first().metadata.frame_height
    [frames] = small.values("frames.faces.detections.bounding_box")
    boxes = [box for faces in frames for box in faces or ()]
    assert boxes and all(min(w * width, h * height) < 32 for _, _, w, h in boxes)
    assert len(boxes) < videos.count("frames.faces.detections")
    # no grouped audit for videos: the dataset itself is where versions are compared
    assert ldfa.open_audit(videos) == videos
    with pytest.raises(ConfigError, match="media field"):
        ldfa.build_audit_dataset(videos)
    result = foo.execute_operator("@ldfa/anonymization/open_audit", {"view": videos.view()})
    assert result.error is None and result.result == {"dataset": videos.name}
    assert [r["operator_uri"] for r in result.executor.to_json()["requests"]] == ["notify"]


def test_saved_views_hold_the_sequence_frames_that_leak(sequences):
    names = ldfa.save_audit_views(sequences)
    leaking = sequences.load_saved_view(leaks_view("anon_pixelate"))
    assert leaking.values("sequence_frame") == [LEFT * STEP]
    assert leaking.values(leaks_field("anon_pixelate")) == [totals(sequences, "anon_pixelate")["leaks"]["total"]]
    assert len(sequences.load_saved_view(leaks_view("anon_solid"))) == 0
    assert "ldfa-faces-under-32px" in names and "ldfa-failed" in names  # the image views are still there


def test_audit_panel_on_videos_shows_the_figures_over_time_and_says_what_else_applies(videos):
    state, data, _ = call_panel("anonymization_audit", videos, "on_load")
    assert state["video"] and "do not apply to videos" in state["message"]
    assert "by_size" not in state and not data  # no image table or plot to misread
    rows = {row["field"]: row for row in state["temporal"]}
    for field in VERSIONS:
        recorded, row = totals(videos, field), rows[field]
        assert (row["clips"], row["frames"], row["tracks"], row["leaks"]) == (
            1, FRAMES, recorded["tracks"], recorded["leaks"]["total"])
        assert row["flicker"] == round(recorded["flicker"]["anonymized"], 3)
        assert row["flicker_original"] == round(recorded["flicker"]["original"], 3)
        assert row["judged"] == f"0 of {recorded['tracks']}"  # measured without an embedder here
    assert rows["anon_pixelate"]["stale"] == 1  # its faces changed after it was written
    assert state["leak_fields"] == ["anon_pixelate"]
    listed = state["leaks_0"]
    tracks = leaking_tracks(videos, "anon_pixelate")
    assert [(r["track"], r["frames"], r["count"]) for r in listed] == [(t["track"], str(LEFT), 1) for t in tracks]
    assert {r["clip"] for r in listed} == {"walkway.mp4"}
    assert "Faces left in the clear" in state["message"] and "anon_pixelate" in state["message"]


def test_clicking_a_version_or_a_leaking_track_shows_where_it_leaks(videos):
    ldfa.save_audit_views(videos)
    state, _, _ = call_panel("anonymization_audit", videos, "on_load")
    row = [r["field"] for r in state["temporal"]].index("anon_pixelate")
    _, _, ops = call_panel("anonymization_audit", videos, "on_temporal_click", state, row=row)
    assert ops == [("set_view", {"name": leaks_view("anon_pixelate")})]

    leak = state["leaks_0"][0]
    _, _, ops = call_panel("anonymization_audit", videos, "on_leak_click", state, path="leaks_0", row=0)
    view = shown_view(videos, ops)
    assert view.values("filepath") == [leak["path"]]
    assert set(view.values("frames.faces.detections.index", unwind=True)) == {leak["track"]}


def test_audit_panel_on_a_sequence_audit_has_both_tables_and_clicks_to_the_leaking_frame(sequences):
    import fiftyone as fo

    audit = ldfa.open_audit(sequences)
    try:
        state, data, _ = call_panel("anonymization_audit", audit, "on_load")
        assert [r["field"] for r in state["table"]] == ["original", *VERSIONS] and "by_size" in state
        assert [r["field"] for r in state["temporal"]] == list(VERSIONS) and state["leak_fields"] == ["anon_pixelate"]
        assert [r["frames"] for r in state["leaks_0"]] == [str(LEFT * STEP)] * len(state["leaks_0"])

        leak = state["leaks_0"][-1]
        _, _, ops = call_panel("anonymization_audit", audit, "on_leak_click", state, path="leaks_0",
                               row=len(state["leaks_0"]) - 1)
        assert ("set_group_slice", {"slice": "anon_pixelate"}) in ops
        view = shown_view(audit, ops)
        [frame] = sequences.match(fo.ViewField("sequence_frame") == LEFT * STEP)
        assert view.values("filepath") == [frame.anon_pixelate]  # the anonymized image that leaks
        assert set(view.values("faces.detections.index", unwind=True)) == {leak["track"]}

        _, _, ops = call_panel("anonymization_audit", audit, "on_temporal_click", state, row=0)
        assert shown_view(audit, ops).values("source_id") == [frame.id]
    finally:
        fo.delete_dataset(audit.name)


def on_screen(state: dict, field: str) -> np.ndarray:
    """The picture the side-by-side shows for ``field``, read from the file its URL names."""
    from urllib.parse import parse_qs, urlparse

    [url] = [i["source"] for i, t in zip(state["layout"]["images"], state["layout"]["annotations"])
             if t["text"] == field]
    return np.asarray(Image.open(parse_qs(urlparse(url).query)["filepath"][0]).convert("RGB"), dtype=int)


def test_side_by_side_of_a_video_shows_one_frame_of_every_version_in_step(videos):
    video = videos.first()
    state, data, _ = call_panel("side_by_side", videos, "on_load", current_sample=video.id)
    assert state["video"] and (state["frame"], state["frames"]) == (1, FRAMES)
    assert [t["text"] for t in state["layout"]["annotations"]] == ["original", *VERSIONS]
    for number in (1, 2):
        for field, path in (("original", video.filepath), *((f, video[f]) for f in VERSIONS)):
            decoded = next(read_frames(path, start=number - 1, stop=number)).astype(int)
            assert np.abs(on_screen(state, field) - decoded).mean() < 3, (number, field)  # JPEG's loss only
        faces = video.frames[number]["faces"].detections
        markers = [t for t in data["figure"] if "ids" in t]
        assert len(markers) == 3 * len(faces)
        assert [m["text"] for m in markers[:len(faces)]] == [[f"#{d.index}"] for d in faces]
        state, data, _ = call_panel("side_by_side", videos, "on_next_frame", state, current_sample=video.id)

    # the careless version's leaks are red in the frame they happened, nowhere else
    state, data, _ = call_panel("side_by_side", videos, "on_next_leak", {**state, "frame": 1},
                                current_sample=video.id)
    assert state["frame"] == LEFT and state["leak_frames"] == [LEFT]
    leaked = {t["track"] for t in leaking_tracks(videos, "anon_pixelate")}
    faces = {d.id: d.index for d in video.frames[LEFT]["faces"].detections}
    colors = {(m["name"], faces[m["ids"][0]]): m["marker"]["color"] for m in data["figure"] if "ids" in m}
    assert {c for (f, i), c in colors.items() if f == "anon_pixelate" and i in leaked} == {"#f44336"}
    assert {c for (f, i), c in colors.items() if f == "anon_pixelate" and i not in leaked} <= {"#4caf50"}
    assert {c for (f, _), c in colors.items() if f == "anon_solid"} == {"#4caf50"}
    assert np.abs(on_screen(state, "anon_pixelate") - on_screen(state, "original")).mean() < np.abs(
        on_screen(state, "anon_solid") - on_screen(state, "original")).mean()

    state, _, _ = call_panel("side_by_side", videos, "on_frame_change", state, current_sample=video.id, value=99)
    assert state["frame"] == FRAMES  # kept within the video


def test_side_by_side_selects_and_tags_the_faces_of_a_video_frame(videos):
    video = videos.first()
    state, _, _ = call_panel("side_by_side", videos, "on_load", current_sample=video.id)
    face = video.frames[1]["faces"].detections[0]
    _, _, ops = call_panel("side_by_side", videos, "on_face_click", state, current_sample=video.id, id=face.id)
    [(name, args)] = ops
    assert name == "set_selected_labels" and args["labels"] == [
        {"label_id": face.id, "sample_id": video.id, "field": "frames.faces", "frame_number": 1}]
    try:
        call_panel("side_by_side", videos, "on_needs_review", state, current_sample=video.id,
                   selected_labels=args["labels"])
        assert videos.count_label_tags() == {"needs_review": 1}
        call_panel("side_by_side", videos, "on_approve", state, current_sample=video.id)  # none selected: the frame
        assert videos.count_label_tags() == {"approved": len(video.frames[1]["faces"].detections)}
    finally:
        videos.untag_labels(["approved", "needs_review"], label_fields=["frames.faces"])


def test_a_video_not_yet_anonymized_says_what_to_run(fo, dataset, videos):
    video = videos.first()
    dataset.add_sample(fo.Sample(filepath=video.filepath, metadata=video.metadata))
    state, _, _ = call_panel("anonymization_audit", dataset, "on_load")
    assert state["temporal"] == [] and "`ldfa evaluate`" in state["message"]
    state, data, _ = call_panel("side_by_side", dataset, "on_load", current_sample=dataset.first().id)
    assert [t["text"] for t in state["layout"]["annotations"]] == ["original"] and data["figure"] == []
    assert f"frame 1 of {FRAMES}" in state["message"]
