"""Videos and frame sequences in: a folder's videos in a companion video dataset with PyAV's
metadata, a single video as a source, numbered frames as sequences, MOTChallenge's people and
Cityscapes' sequences."""

import shutil

import pytest

from ldfa.converters.cityscapes import import_cityscapes
from ldfa.converters.folder import import_folder, videos_of
from ldfa.converters.formats import detect_format, import_dataset, source_tree
from ldfa.converters.sequences import MOT_PEOPLE
from ldfa.plugin.detection.people import people_in
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.folders import add_video_folder
from ldfa.plugin.io.video import probe
from ldfa.plugin.runs import record_run
from ldfa.plugin.schema import ANONYMIZE, run_key
from ldfa_testing import sequences
from ldfa_testing.videos import cut

CLIP_FRAMES, CLIP_SIZE = 5, (320, 180)


@pytest.fixture(scope="module")
def clip(shared_data, tmp_path_factory):
    walkway = shared_data / "videos" / "walkway.mp4"
    if not walkway.is_file():
        pytest.skip(f"needs {walkway}")
    target = tmp_path_factory.mktemp("clip") / "walkway.mp4"
    cut(walkway, target, CLIP_FRAMES, scale=CLIP_SIZE[0] / 1920)
    assert probe(target).streams == ("video", "audio")
    return target


@pytest.fixture
def mixed(tmp_path, sample_photos, clip):
    """Two photos, a real clip with sound in a subfolder, a broken video and a text file."""
    root = tmp_path / "mixed"
    (root / "clips").mkdir(parents=True)
    for photo in sample_photos:
        shutil.copy(photo, root / photo.name)
    shutil.copy(clip, root / "clips" / "walkway.mp4")
    (root / "clips" / "broken.mov").write_bytes(b"not a movie")
    (root / "notes.txt").write_text("kept byte for byte\n")
    return root


@pytest.fixture
def companions(fo, dataset):
    """Deletes the test dataset's companion video dataset afterwards."""
    yield
    name = f"{dataset.name}-videos"
    if fo.dataset_exists(name):
        fo.delete_dataset(name)


def test_a_folders_videos_go_into_a_companion_video_dataset_with_their_metadata(
        fo, dataset, mixed, sample_photos, companions):
    report = import_folder(mixed, dataset, progress=False)
    assert (report["images"], report["videos"], report["other_files"]) == (2, 2, 1)
    assert [p["file"] for p in report["problems"]] == ["clips/broken.mov"]
    assert "added without metadata" in report["problems"][0]["error"]
    assert sorted(dataset.values("relpath")) == sorted(p.name for p in sample_photos)
    assert not dataset.has_field("sequence")  # ordinary photos: no sequence

    videos = videos_of(dataset)
    assert videos.name == f"{dataset.name}-videos" and videos.media_type == "video"
    assert dataset.info["ldfa_source"]["videos_dataset"] == videos.name
    assert videos.info["ldfa_source"]["images_dataset"] == dataset.name
    clip = videos.match({"relpath": "clips/walkway.mp4"}).first()
    meta = clip.metadata
    assert isinstance(meta, fo.VideoMetadata)
    assert (meta.total_frame_count, meta.frame_rate, meta.frame_width, meta.frame_height) == (
        CLIP_FRAMES, 25.0, *CLIP_SIZE)
    assert meta.mime_type == "video/mp4" and meta.size_bytes == (mixed / "clips" / "walkway.mp4").stat().st_size
    assert videos.match({"relpath": "clips/broken.mov"}).first().metadata is None  # kept, to fail visibly

    again = import_folder(mixed, dataset, progress=False)
    assert (again["images"], again["videos"], len(dataset), len(videos)) == (0, 0, 2, 2)


def test_a_single_video_is_a_source_of_its_own(fo, dataset, mixed, companions):
    video = mixed / "clips" / "walkway.mp4"
    shutil.copy(mixed / "notes.txt", mixed / "clips" / "other.jpg")  # beside it, not part of it
    assert detect_format(video) == "folder"
    assert source_tree("folder", video) == video.parent
    report = import_dataset("folder", video, dataset, progress=False)
    assert (report["images"], report["videos"], len(dataset)) == (0, 1, 0)
    info = dataset.info["ldfa_source"]
    assert info["root"] == str(video.parent) and info["only"] == ["walkway.mp4"]
    assert videos_of(dataset).values("relpath") == ["walkway.mp4"]
    assert videos_of(dataset).info["ldfa_source"]["only"] == ["walkway.mp4"]
    with pytest.raises(ConfigError, match="neither an image nor a video"):
        source_tree("folder", mixed / "notes.txt")


def test_a_folder_without_images_or_videos_is_an_error(dataset, tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to anonymize")
    with pytest.raises(ConfigError, match=r"holds no image or video files \(1 other files\)"):
        import_folder(tmp_path, dataset, progress=False)


def test_add_video_folder_takes_a_file_or_a_folder_and_refuses_an_image_dataset(fo, dataset, mixed, sample_photos):
    videos = fo.Dataset()
    try:
        added = add_video_folder(videos, mixed / "clips" / "walkway.mp4")
        assert (added["added"], added["problems"]) == (1, [])
        assert videos.first().metadata.total_frame_count == CLIP_FRAMES
        anonymized = mixed / "anon" / "walkway.mp4"  # an earlier run's output below the folder
        anonymized.parent.mkdir()
        shutil.copy(anonymized.parents[1] / "clips" / "walkway.mp4", anonymized)
        record_run(videos, run_key(ANONYMIZE, "anon_gauss"), {"field": "anon_gauss", "method": "gauss",
                                                               "output_dir": str(anonymized.parent)})
        added = add_video_folder(videos, mixed)
        assert (added["added"], added["not_videos"], added["outputs_left_out"]) == (1, 3, 1)
        assert [p["file"] for p in added["problems"]] == [str(mixed / "clips" / "broken.mov")]
    finally:
        videos.delete()
    dataset.add_sample(fo.Sample(filepath=str(sample_photos[0])))
    with pytest.raises(ConfigError, match="holds images"):
        add_video_folder(dataset, mixed)
    with pytest.raises(ConfigError, match="is not a video file"):
        add_video_folder(dataset, sample_photos[0])


@pytest.fixture
def mot_tree(shared_data, tmp_path):
    """Two MOT17 sequences as MOTChallenge ships them, one with a broken gt.txt."""
    mot = shared_data / "videos" / "mot17-mini"
    if not mot.is_dir():
        pytest.skip(f"needs {mot}")
    root = tmp_path / "mot"
    shutil.copytree(mot / "MOT17-09-FRCNN", root / "MOT17-09-FRCNN")
    shutil.copytree(mot / "MOT17-09-FRCNN", root / "broken")
    with open(root / "broken" / "gt" / "gt.txt", "a") as gt:
        gt.write("5,1,260,450\n")
    return root


def test_mot_frames_are_a_sequence_with_their_people(fo, dataset, mot_tree, companions):
    report = import_folder(mot_tree, dataset, progress=False)
    assert [(p["file"], "line" in p["error"]) for p in report["problems"]] == [("broken/gt/gt.txt", True)]
    assert dataset.info["ldfa_source"]["people_fields"] == ["people"] and videos_of(dataset) is None
    rows = [[float(v) for v in line.split(",")]
            for line in (mot_tree / "MOT17-09-FRCNN" / "gt" / "gt.txt").read_text().splitlines()]
    frames = dataset.match({"relpath": {"$regex": "^MOT17-09"}}).sort_by("sequence_frame")
    assert frames.values("sequence") == ["MOT17-09-FRCNN/img1"] * 4
    assert frames.values("sequence_frame") == [1, 2, 3, 4]
    for sample in frames:
        wanted = sorted((int(r[1]), r[2:6]) for r in rows if r[0] == sample.sequence_frame and r[7] in MOT_PEOPLE)
        assert wanted, "the shared gt.txt names people in every frame"
        got = sorted((d.index, d.bounding_box) for d in sample.people.detections)
        w, h = 1920, 1080
        assert [i for i, _ in got] == [i for i, _ in wanted]
        for (_, box), (_, (x, y, bw, bh)) in zip(got, wanted):
            assert box == pytest.approx([(x - 1) / w, (y - 1) / h, bw / w, bh / h])
        assert len(people_in(sample.people, w, h)) == len(wanted)  # what face detection looks at
    broken = dataset.match({"relpath": {"$regex": "^broken"}})
    assert broken.values("sequence") == ["broken/img1"] * 4 and broken.values("people") == [None] * 4


@pytest.fixture
def cityscapes_sequences(tmp_path):
    return sequences.cityscapes_sequences(tmp_path / "cityscapes")


def test_cityscapes_sequences_are_frames_and_the_annotated_frame_keeps_its_people(
        dataset, cityscapes_sequences):
    assert detect_format(cityscapes_sequences) == "cityscapes"
    report = import_cityscapes(cityscapes_sequences, dataset, progress=False)
    assert (report["images"], report["problems"]) == (5, [])
    frames = dataset.exists("sequence").sort_by("sequence_frame")
    assert frames.values("sequence") == ["frankfurt_000000"] * 4
    assert frames.values("sequence_frame") == [17, 18, 19, 20]
    assert all(rel.startswith("leftImg8bit_sequence/") for rel in frames.values("relpath"))
    annotated = dataset.match({"relpath": {"$regex": "^leftImg8bit/"}}).first()
    assert annotated.get_field("sequence") is None and len(annotated.gt_fine.polylines) == 1
    twin = frames.match({"sequence_frame": 19}).first()
    assert twin.gt_fine.polylines[0].points == annotated.gt_fine.polylines[0].points
    assert frames.exists("gt_fine").values("sequence_frame") == [19]
    assert dataset.info["ldfa_source"]["people_fields"] == ["gt_fine"]


def test_a_root_with_only_sequences_is_cityscapes(dataset, cityscapes_sequences):
    shutil.rmtree(cityscapes_sequences / "leftImg8bit")
    shutil.rmtree(cityscapes_sequences / "gtFine")
    assert detect_format(cityscapes_sequences) == "cityscapes"
    assert import_cityscapes(cityscapes_sequences, dataset, progress=False)["images"] == 4
    assert sorted(dataset.values("sequence_frame")) == [17, 18, 19, 20]
