"""The image metrics of a video version, on every n-th frame: a companion image dataset of frame
pairs and faces, measured as photos are, refreshed (never duplicated) by a rerun."""

from pathlib import Path

import pytest

from ldfa_testing.videos import cut, shared_clip


@pytest.mark.slow
def test_sampled_frames_of_a_video_are_measured_as_images(fo, dataset, tmp_path, monkeypatch):
    import ldfa
    from ldfa.plugin.io.video import probe
    from ldfa.plugin.metrics.frames import measure_video_frames
    from ldfa.plugin.schema import identity_distance, identity_reason, residual, residual_reason

    monkeypatch.setattr(fo.config, "default_dataset_dir", str(tmp_path / "fiftyone"))  # the frames' cache
    (tmp_path / "clip").mkdir()
    clip = cut(shared_clip("walkway.mp4"), tmp_path / "clip" / "walkway.mp4", 6, 0.5)
    dataset.add_sample(fo.Sample(filepath=str(clip), metadata=fo.VideoMetadata(**probe(clip).metadata())))
    ldfa.detect_faces(dataset, progress=False)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "out", progress=False)
    video = dataset.first()

    try:
        result = measure_video_frames(dataset, "anon_solid", every=2, progress=False, embedders=["dlib"])
        frames = fo.load_dataset(result["frames_dataset"])
        assert (result["frames"], result["every"], result["errors"]) == (3, 2, {})
        assert frames.name == f"{dataset.name}-frames" and len(frames) == 3
        assert sorted(frames.values("frame_number")) == [1, 3, 5]
        assert set(frames.values("video_id")) == {video.id}
        assert "anon_solid" in frames.app_config.media_fields
        assert all(Path(p).is_relative_to(tmp_path / "fiftyone") for p in frames.values("anon_solid"))

        faces = 0
        for sample in frames:
            n = sample.frame_number
            assert Path(sample.filepath).is_file() and Path(sample.anon_solid).is_file()
            assert sample.filepath != sample.anon_solid
            source = video.frames[n]["faces"].detections
            copied = sample.faces.detections
            assert [(d.index, d.source, d.bounding_box) for d in copied] == \
                [(d.index, d.source, d.bounding_box) for d in source]
            faces += len(copied)
            for d in copied:  # solid boxes leave no face to embed, and change the region entirely
                assert d[identity_distance("anon_solid", "dlib")] is not None or \
                    d[identity_reason("anon_solid", "dlib")] is not None
                assert d[residual("anon_solid")] is not None or d[residual_reason("anon_solid")] is not None
        assert faces >= 3
        reasons = frames.values(f"faces.detections.{identity_reason('anon_solid', 'dlib')}", unwind=True)
        assert any(r and "no face" in r for r in reasons), reasons
        residuals = [r for r in frames.values(f"faces.detections.{residual('anon_solid')}", unwind=True)
                     if r is not None]
        assert residuals, "no face's residual similarity was measured"
        assert result["residual"]["measured"] == result["identity"]["dlib"]["faces"] == faces
        assert result["identity"]["verdict"]["same_person"] == 0 and result["detection"]["images"] == 3

        written = {p: Path(p).stat().st_mtime_ns for p in frames.values("filepath") + frames.values("anon_solid")}
        again = measure_video_frames(dataset, "anon_solid", every=2, progress=False, embedders=["dlib"])
        frames.reload()
        assert again["frames"] == len(frames) == 3
        assert {p: Path(p).stat().st_mtime_ns for p in written} == written  # PNGs not rewritten
    finally:
        if fo.dataset_exists(f"{dataset.name}-frames"):
            fo.load_dataset(f"{dataset.name}-frames").delete()


def test_a_still_image_collection_is_refused(fo, dataset):
    import ldfa
    from ldfa.plugin.metrics.frames import measure_video_frames

    with pytest.raises(ldfa.LdfaError, match="holds no videos"):
        measure_video_frames(dataset, "anon_solid")
