"""Face detection: real detectors on real photos, the SDK's data model, bad input, CLI, operator."""

import uuid

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.cli import main as cli
from ldfa.plugin.io.images import read_rgb
from ldfa.plugin.models.detector.backends import BACKENDS
from ldfa.plugin.models.detector.config import BACKEND_NAMES, DetectorConfig
from ldfa.plugin.models.detector.passes import detect
from ldfa_testing import dlib_faces, street_faces
from ldfa_testing.photos import iou
from ldfa_testing.street_faces import nested_boxes
from ldfa_testing.videos import cut, shared_clip


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_each_backend_finds_the_one_face_with_landmarks_inside_it(backend, sample_photos):
    assert set(BACKENDS) == set(BACKEND_NAMES)  # the choices the torch-free config offers
    for path in sample_photos:
        image, _ = read_rgb(str(path))
        faces = detect([image], DetectorConfig(detector=backend))[0]
        assert len(faces) == 1, (backend, path.name, [f.score for f in faces])
        x1, y1, x2, y2 = faces[0].box
        assert 40 < x2 - x1 < 0.6 * image.shape[1]
        marks = faces[0].landmarks
        assert marks.shape == (5, 2)
        assert ((marks[:, 0] > x1) & (marks[:, 0] < x2) & (marks[:, 1] > y1) & (marks[:, 1] < y2)).all()
        assert marks[0, 0] < marks[1, 0], "eyes are ordered left to right in the image"
        assert marks[:2, 1].max() < marks[3:, 1].min(), "eyes are above the mouth"


def test_default_detection_recall_on_43_labelled_faces_and_none_on_dogs(fo, shared_data):
    dataset = dlib_faces.load(shared_data / "face-boxes" / "dlib_faces", "dlib-faces-recall")
    ldfa.detect_faces(dataset, label_field="pred", progress=False)
    scores = dlib_faces.score(dataset, "pred", confidence=0.0)  # every face the defaults keep
    assert scores["faces"] == 43
    assert scores["recall"] >= 0.95
    assert scores["faces_on_negatives"] == 0, "dogs.jpg has no human face"
    assert nested_boxes(dataset, "pred") == 0, "a face the zoom pass finds again is one box (2008_002079.jpg)"


@pytest.mark.slow
def test_default_detection_finds_the_tiny_street_faces_within_the_box_budget(fo, shared_data):
    """../shared/data/street-faces: 66 clear faces, half under 16 px (README of that folder)."""
    dataset = street_faces.load(shared_data / "street-faces", "street-faces-recall")
    summary = ldfa.detect_faces(dataset, label_field="pred", progress=False)
    scores = street_faces.score(dataset, "pred")
    assert scores["faces"] == 66
    assert scores["recall"] >= 0.95, scores
    recall = {size: found / faces for size, (found, faces) in scores["by_size"].items()}
    assert recall["<16"] >= 0.9, scores  # the zoom pass's job: 6 of 33 at full frame alone
    assert recall["16-32"] >= 0.95 and recall[">32"] == 1.0, scores
    assert scores["boxes"] <= 2 * 82, "at most two detections per labelled face"
    assert summary.by_source["zoom"] > 0 and summary.faces == scores["boxes"]
    assert set(dataset.distinct("pred.detections.source")) == {"centerface", "zoom"}
    assert nested_boxes(dataset, "pred") == 0, "no face box lies inside another"


@pytest.mark.slow
def test_ldfa_detect_videos_leaves_one_box_per_face_in_every_frame(fo, tmp_path):
    """concourse-overhead.mp4's first 12 frames, a crowd from above: tracks fill and grow boxes
    onto faces other tracks hold there (20 such pairs before tracks merged them). After `ldfa
    detect --videos` no face box of a frame lies mostly inside another, every face with its track."""
    clip = cut(shared_clip("concourse-overhead.mp4"), tmp_path / "concourse.mp4", 12)
    name = f"one-box-per-face-{uuid.uuid4().hex[:6]}"
    try:
        assert cli(["detect", "--dataset", name, "--videos", str(clip), "--json"]) == 0
        dataset = fo.load_dataset(name)
        faces = [frame.faces.detections for frame in dataset.first().frames.values()]
        assert len(faces) == 12 and sum(map(len, faces)) >= 12 * 10, "a crowd in every frame"
        assert all(d.index is not None for frame in faces for d in frame)
        assert nested_boxes(dataset, "frames.faces") == 0
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_detect_faces_writes_labels_records_the_run_and_reruns_replace_only_that_field(
    dataset, sample_photos
):
    dataset.add_samples([dataset_sample(p) for p in sample_photos])
    summary = ldfa.detect_faces(dataset, detector="retinaface", progress=False)
    assert (summary.images, summary.faces, summary.failed) == (2, 2, 0)

    sample = dataset.first()
    face = sample["faces"].detections[0]
    assert face.label == "face" and 0.5 <= face.confidence <= 1
    assert all(0 <= v <= 1 for v in face.bounding_box)
    assert len(face["landmarks"]) == 5
    config = dataset.get_run_info("ldfa_detect_faces").config
    assert config.detector == "retinaface" and config.label_field == "faces"
    assert config.versions["onnxruntime"] != "not installed"

    # A second field, then a rerun of the first on a view with another detector: only the
    # view's samples of that field change.
    ldfa.detect_faces(dataset, label_field="faces_mtcnn", detector="mtcnn", progress=False)
    before_mtcnn = dataset.values("faces_mtcnn.detections.bounding_box")
    first_id, second_id = dataset.values("id")
    before_second = dataset[second_id]["faces"].detections[0].bounding_box
    before_first = sample["faces"].detections[0].bounding_box
    ldfa.detect_faces(dataset.select(first_id), detector="centerface", progress=False)
    assert dataset.get_run_info("ldfa_detect_faces").config.detector == "centerface"
    assert dataset.values("faces_mtcnn.detections.bounding_box") == before_mtcnn
    assert dataset[second_id]["faces"].detections[0].bounding_box == before_second
    assert dataset[first_id]["faces"].detections[0].bounding_box != before_first


def dataset_sample(path):
    import fiftyone as fo

    return fo.Sample(filepath=str(path))


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, sample_photos):
    """Every awkward kind of file a dataset may hold, most of them with the astronaut's face."""
    folder = tmp_path_factory.mktemp("bad")
    upright = Image.open(sample_photos[0]).convert("RGB")  # 512 x 512, one face
    upright.convert("L").save(folder / "gray.png")
    rgba = upright.convert("RGBA")
    rgba.putalpha(200)
    rgba.save(folder / "rgba.png")
    upright.convert("P", palette=Image.ADAPTIVE).save(folder / "palette.png")
    sixteen = (np.asarray(upright.convert("L"), dtype=np.uint16) * 257)
    Image.fromarray(sixteen).save(folder / "sixteen.png")
    upright.convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    # Stored rotated; EXIF orientation 6 says "rotate 90 degrees clockwise to display".
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(folder / "exif_rotated.jpg", exif=exif, quality=95)
    Image.new("RGB", (1, 1), (90, 90, 90)).save(folder / "one_pixel.png")
    big = Image.new("RGB", (8000, 6000), (120, 130, 140))
    big.paste(upright.resize((2048, 2048)), (5000, 3000))
    big.save(folder / "huge.jpg", quality=85)
    full = (folder / "truncated.jpg")
    upright.save(full, quality=95)
    full.write_bytes(full.read_bytes()[:6000])
    (folder / "not_an_image.jpg").write_text("this is text, not a JPEG")
    return folder


def test_bad_inputs_never_stop_the_batch_and_are_recorded(dataset, bad_inputs, sample_photos):
    names = sorted(p.name for p in bad_inputs.iterdir())
    dataset.add_samples([dataset_sample(bad_inputs / n) for n in names])
    summary = ldfa.detect_faces(dataset, progress=False)

    by_name = {p["filepath"].rsplit("/", 1)[1]: p for p in summary.per_image}
    assert {f["filepath"].rsplit("/", 1)[1] for f in summary.failures} == {
        "truncated.jpg", "not_an_image.jpg"}
    assert "truncated" in by_name["truncated.jpg"]["error"]
    assert "not an image" in by_name["not_an_image.jpg"]["error"]
    for name in ("gray.png", "rgba.png", "palette.png", "sixteen.png", "cmyk.jpg",
                 "exif_rotated.jpg", "huge.jpg"):
        assert by_name[name]["faces"] == 1, name
    assert by_name["one_pixel.png"] == {"filepath": str(bad_inputs / "one_pixel.png"),
                                        "faces": 0, "error": None}

    failed = dataset.match_tags("faces_failed")
    assert sorted(s.filepath.rsplit("/", 1)[1] for s in failed) == ["not_an_image.jpg", "truncated.jpg"]
    assert all(s["faces_error"] for s in failed)

    # The rotated JPEG's box is where the App shows the face: as on the upright original.
    reference = ldfa.detect_faces(dataset.match({"filepath": str(bad_inputs / "gray.png")}),
                                  label_field="ref", progress=False)
    assert reference.faces == 1
    rotated = dataset.match({"filepath": str(bad_inputs / "exif_rotated.jpg")}).first()
    gray = dataset.match({"filepath": str(bad_inputs / "gray.png")}).first()
    assert iou(rotated["faces"].detections[0].bounding_box, gray["ref"].detections[0].bounding_box) > 0.8

    # The 8000 x 6000 frame was detected downscaled; its box maps back to full resolution.
    huge = dataset.match({"filepath": str(bad_inputs / "huge.jpg")}).first()
    x, y, w, h = huge["faces"].detections[0].bounding_box
    assert 5000 < x * 8000 < 7048 and 3000 < y * 6000 < 5048 and w * 8000 > 300

    # Once a file is repaired, a rerun clears its failure record.
    (bad_inputs / "not_an_image.jpg").write_bytes((bad_inputs / "gray.png").read_bytes())
    assert ldfa.detect_faces(dataset, progress=False).failed == 1
    assert len(dataset.match_tags("faces_failed")) == 1


def test_plugin_is_listed_and_its_operator_runs_from_python(dataset, sample_photos):
    import fiftyone.operators as foo
    import fiftyone.plugins as fop

    assert "@ldfa/anonymization" in [p.name for p in fop.list_plugins()]
    uri = "@ldfa/anonymization/detect_faces"
    assert uri in [op.uri for op in foo.list_operators()]

    dataset.add_samples([dataset_sample(p) for p in sample_photos])
    result = foo.get_operator(uri)(dataset.view(), label_field="app_faces", detector="retinaface")
    assert result.error is None, result.error
    assert result.result["faces"] == 2
    assert dataset.count("app_faces.detections") == 2


def test_large_views_are_delegated_and_report_progress(dataset, sample_photos):
    import fiftyone.operators as foo
    from fiftyone.operators.delegated import DelegatedOperationService

    dataset.add_samples([dataset_sample(p) for p in sample_photos])
    foo.get_operator("@ldfa/anonymization/detect_faces")(dataset.view(), delegate=True)
    service = DelegatedOperationService()
    queued = service.list_operations(dataset_name=dataset.name)
    assert [op.operator for op in queued] == ["@ldfa/anonymization/detect_faces"]
    service.execute_queued_operations(dataset_name=dataset.name)
    done = service.get(queued[0].id)
    assert done.run_state == "completed", done.result
    assert done.status.progress == 1.0
    assert dataset.count("faces.detections") == 2
