"""Videos and frame sequences through the stages: faces detected per frame and tracked, every
face replaced in every frame with one seed per track, the file kept whole, stale videos redone."""

import json
import shutil
import uuid

import numpy as np
import pytest

from ldfa_testing.sequences import cityscapes_sequences, mot_frames
from ldfa_testing.videos import cut, shared_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """walkway.mp4's first 12 frames at half size (960x540), with its audio."""
    return cut(shared_clip("walkway.mp4"), tmp_path_factory.mktemp("clip") / "walkway.mp4", 12, 0.5)


@pytest.fixture
def videos(fo, dataset, clip):
    from ldfa.plugin.io.video import probe

    dataset.add_sample(fo.Sample(filepath=str(clip), metadata=fo.VideoMetadata(**probe(clip).metadata())))
    return dataset


def boxes_of(detections, width, height):
    from ldfa.plugin.geometry.boxes import to_pixels

    return [[round(v) for v in to_pixels(d.bounding_box, width, height)] for d in detections.detections]


@pytest.mark.slow
def test_a_video_is_detected_tracked_and_anonymized_in_every_frame(videos, clip, tmp_path):
    import ldfa
    from ldfa.plugin.freshness import stale_samples
    from ldfa.plugin.io.video import probe, read_frames

    detected = ldfa.detect_faces(videos, progress=False)
    [line] = detected.per_image
    assert line["frames"] == 12 and line["faces"] >= 12 and line["tracks"] >= 1 and line["error"] is None
    sample = videos.first()
    faces = [sample.frames[n]["faces"] for n in range(1, 13)]
    assert all(f is not None for f in faces)
    assert all(d.index is not None for f in faces for d in f.detections)

    summary = ldfa.anonymize_faces(videos, method="solid", output_dir=tmp_path / "out", progress=False)
    assert summary.written == 1 and summary.failed == 0 and summary.faces == line["faces"]
    sample.reload()
    out = sample["anon_solid"]
    before, after = probe(clip), probe(out)
    assert (after.frames, after.rate, after.width, after.height) == (12, before.rate, 960, 540)
    assert after.streams == before.streams == ("video", "audio")
    for n, (a, b) in enumerate(zip(read_frames(clip), read_frames(out))):
        for x, y, w, h in boxes_of(faces[n], 960, 540):
            inside = np.abs(a[y:y + h, x:x + w].astype(int) - b[y:y + h, x:x + w].astype(int))
            assert inside.size and (inside.max(axis=-1) > 8).mean() > 0.5, f"frame {n + 1}: face left"

    seeds = {}
    for n in range(1, 13):
        for d in sample.frames[n]["faces"].detections:
            seeds.setdefault(d.index, set()).add(d["anon_solid_seed"])
    assert all(len(s) == 1 for s in seeds.values())  # one seed per track, the same in every frame
    assert len({s.pop() for s in seeds.values()}) == len(seeds)  # and another for each track

    from ldfa.plugin.metrics.measure import measure_version

    for still_only in (lambda: measure_version(videos, "anon_solid", progress=False),
                       lambda: ldfa.guard_identity(videos, "anon_solid", progress=False),
                       lambda: ldfa.reanonymize_faces(videos, "anon_solid", [], progress=False)):
        with pytest.raises(ldfa.LdfaError, match="reads still images.*over time"):
            still_only()

    again = ldfa.anonymize_faces(videos, method="solid", output_dir=tmp_path / "out", progress=False)
    assert (again.resumed, again.written) == (1, 0)
    moved = sample.frames[5]["faces"].detections[0]
    moved.bounding_box = [moved.bounding_box[0] + 0.01, *moved.bounding_box[1:]]
    sample.save()
    assert stale_samples(videos, "anon_solid") == [sample.id]
    redone = ldfa.anonymize_faces(videos, method="solid", output_dir=tmp_path / "out", progress=False)
    assert redone.written == 1 and stale_samples(videos, "anon_solid") == []


@pytest.mark.slow
def test_frame_sequences_are_tracked_as_sequences(fo, dataset, tmp_path):
    import ldfa
    from ldfa.plugin.schema import SEQUENCE, SEQUENCE_FRAME

    frames = sorted((shared_clip("mot17-mini") / "MOT17-09-FRCNN" / "img1").glob("*.jpg"))[:4]
    for path in frames:
        shutil.copy(path, tmp_path / path.name)
        dataset.add_sample(fo.Sample(filepath=str(tmp_path / path.name),
                                     **{SEQUENCE: "MOT17-09", SEQUENCE_FRAME: int(path.stem)}))
    ldfa.detect_faces(dataset, progress=False)
    tracks = [{d.index for d in faces.detections} for faces in dataset.sort_by(SEQUENCE_FRAME).values("faces")]
    assert all(None not in t for t in tracks)
    assert set.intersection(*tracks)  # a person seen in every frame is one track throughout

    # one seed per track; a face redone in review takes its whole track along: one new person still
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path.parent / f"{tmp_path.name}-out",
                         progress=False)
    track = min(set.intersection(*tracks))

    def facts():
        faces = [d for fs in dataset.values("faces") for d in fs.detections]
        return ({(d["anon_pixelate_seed"], d["anon_pixelate_attempt"]) for d in faces if d.index == track},
                {d["anon_pixelate_attempt"] for d in faces if d.index != track})

    [before], _ = facts()
    one = next(d.id for d in dataset.first().faces.detections if d.index == track)
    ldfa.reanonymize_faces(dataset, "anon_pixelate", [one], progress=False)
    [after], others = facts()
    assert after[1] == 1 and after[0] != before[0] and others == {0}


@pytest.mark.slow
@pytest.mark.parametrize("tree", ["mot", "cityscapes"])
def test_a_mot_folder_and_a_cityscapes_sequence_tree_run_as_sequences(fo, tmp_path, tree, capsys):
    """`ldfa run` on a MOTChallenge folder (its gt.txt people a second opinion) and on a Cityscapes
    leftImg8bit_sequence tree: frames tracked as sequences, every face replaced, no leak over time,
    the annotations back byte for byte."""
    from ldfa.cli import main as cli
    from ldfa.plugin.schema import SEQUENCE

    root = tmp_path / tree
    if tree == "mot":
        shutil.copytree(mot_frames(), root / "MOT17-09-FRCNN")
        annotation = "MOT17-09-FRCNN/gt/gt.txt"
    else:
        cityscapes_sequences(root)
        annotation = "gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_polygons.json"
    out, name = tmp_path / f"{tree}-anon", f"run-sequences-{tree}-{uuid.uuid4().hex[:6]}"  # no other test's
    assert cli(["run", str(root), "--output", str(out), "--method", "solid", "--dataset", name]) == 0
    assert "verify-export: ok" in capsys.readouterr().out
    assert (out / annotation).read_bytes() == (root / annotation).read_bytes()
    dataset = fo.load_dataset(name)
    frames = dataset.exists(SEQUENCE)
    assert len(frames) == 4 and len(set(frames.values(SEQUENCE))) == 1
    tracked = [d for faces in frames.values("faces") for d in faces.detections]
    assert tracked and all(d.index is not None for d in tracked)
    assert cli(["evaluate", "--dataset", name, "--field", "anon_solid", "--json"]) == 0
    over_time = json.loads(capsys.readouterr().out)["temporal"]
    assert over_time["clips"] == 1 and over_time["tracks"] >= 1 and over_time["leaks"]["total"] == 0


@pytest.mark.slow
def test_ldfa_run_on_a_video_writes_it_beside_itself(fo, clip, tmp_path, monkeypatch, capsys):
    """The issue's own command, `ldfa run walkway.mp4 --output out/`, typed in the video's folder:
    out/ lies beside the video (in its folder), which is fine for a single file."""
    from ldfa.cli import main as cli
    from ldfa.plugin.io.video import probe

    shutil.copy(clip, tmp_path / "walkway.mp4")
    (tmp_path / "notes.txt").write_text("a sibling: not part of this run")
    monkeypatch.chdir(tmp_path)
    assert cli(["run", "walkway.mp4", "--output", "out/", "--method", "gauss"]) == 0
    assert "verify-export: ok" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["walkway.mp4", "walkway.mp4.faces.json"]
    before, after = probe(clip), probe(tmp_path / "out" / "walkway.mp4")
    assert (after.frames, after.rate, after.width, after.height, after.streams) == (
        before.frames, before.rate, before.width, before.height, before.streams)
    assert cli(["evaluate", "--dataset", "ldfa-folder-walkway-videos", "--field", "anon_gauss", "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["temporal"]["leaks"]["total"] == 0
    assert measured["frames"]["frames"] == 3 and measured["frames"]["every"] == 5  # frames 1, 6, 11
    assert measured["residual"]["measured"] == measured["residual"]["faces"] > 0  # the image metrics per frame
