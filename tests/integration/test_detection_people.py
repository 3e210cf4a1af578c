"""The dataset's people as a second opinion: a person without a detected face gets one from a
closer look at its head (Cityscapes polygons, CityPersons boxes) or from its COCO keypoints."""

import json

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.converters.cityscapes import import_cityscapes
from ldfa.converters.coco import import_coco
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.detector.passes import detect

HEAD = (500, 300)  # top-left of the pasted face in the 1024 x 512 synthetic frame
FACE_PX = 12  # the default full-frame pass scores it under 0.1 here; the closer look over 0.2


@pytest.fixture(scope="module")
def tiny_face_frame(sample_photos):
    """A street-like frame with one 12-px face (the astronaut's) on a dark body: too small for
    the full-frame pass, plain to a detector that looks closer."""
    astronaut = np.asarray(Image.open(sample_photos[0]).convert("RGB"))[40:200, 180:300]
    h, w = FACE_PX, round(FACE_PX * 120 / 160)
    frame = np.full((512, 1024, 3), 90, np.uint8)
    x, y = HEAD
    frame[y + h : y + 6 * h, x - w : x + 2 * w] = (40, 40, 60)
    frame[y : y + h, x : x + w] = np.asarray(Image.fromarray(astronaut).resize((w, h), Image.BILINEAR))
    assert detect([frame], DetectorConfig())[0] == [], "the default detection alone must miss it"
    return frame


def person_outline():
    """The person's polygon: head and body, in pixels."""
    x, y = HEAD
    w = round(FACE_PX * 120 / 160)
    return [[x - 1, y - 1], [x + w + 1, y - 1], [x + 2 * w, y + FACE_PX],
            [x + 2 * w, y + 6 * FACE_PX], [x - w, y + 6 * FACE_PX], [x - w, y + FACE_PX]]


@pytest.fixture
def cityscapes_person(tmp_path, tiny_face_frame):
    """A one-frame Cityscapes tree whose gtFine polygons and CityPersons box mark the person."""
    root = tmp_path / "cityscapes"
    stem, split, city = "bochum_000000_000001", "val", "bochum"
    image = root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
    image.parent.mkdir(parents=True)
    Image.fromarray(tiny_face_frame).save(image)
    for folder, suffix, doc in [
        ("gtFine", "_gtFine_polygons.json", {"imgHeight": 512, "imgWidth": 1024, "objects": [
            {"label": "road", "polygon": [[0, 450], [1024, 450], [1024, 512], [0, 512]]},
            {"label": "person", "polygon": person_outline()}]}),
        ("gtBboxCityPersons", "_gtBboxCityPersons.json", {"imgHeight": 512, "imgWidth": 1024, "objects": [
            {"label": "pedestrian", "bbox": [HEAD[0] - 9, HEAD[1] - 1, 28, 6 * FACE_PX + 1],
             "bboxVis": [HEAD[0] - 9, HEAD[1] - 1, 28, 6 * FACE_PX + 1]}]}),
    ]:
        path = root / folder / split / city / f"{stem}{suffix}"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(doc))
    return root


def faces_in_head(dataset):
    """(source, box in pixels) of every face whose centre lies on the pasted face."""
    out = []
    for det in dataset.first().faces.detections:
        x, y, w, h = np.asarray(det.bounding_box) * [1024, 512, 1024, 512]
        if HEAD[0] - 2 <= x + w / 2 <= HEAD[0] + 11 and HEAD[1] - 2 <= y + h / 2 <= HEAD[1] + FACE_PX + 2:
            out.append((det.source, det.confidence))
    return out


@pytest.mark.parametrize("people_field", ["gt_fine", "persons"])
def test_a_cityscapes_person_without_a_detected_face_gets_one_from_a_closer_look(
    dataset, cityscapes_person, people_field
):
    import_cityscapes(cityscapes_person, dataset, progress=False)
    assert dataset.info["ldfa_source"]["people_fields"] == ["gt_fine", "persons"]
    ldfa.detect_faces(dataset, progress=False)
    assert faces_in_head(dataset) == [], "without the people, the face is missed"

    summary = ldfa.detect_faces(dataset, people_field=people_field, progress=False)
    [(source, score)] = faces_in_head(dataset)
    assert source == "second_look" and DetectorConfig().candidate_confidence <= score < 0.5
    assert summary.by_source == {"second_look": 1}
    run = dataset.get_run_info("ldfa_detect_faces")
    assert run.config.people_fields == [people_field]
    # a person annotated twice (polygon and box) still gets one face
    ldfa.detect_faces(dataset, people_field=["gt_fine", "persons"], progress=False)
    assert len(faces_in_head(dataset)) == 1


def test_ldfa_run_uses_the_imported_people_by_default(fo, cityscapes_person, tmp_path):
    """The whole command: the missed face is found through the person and replaced whole."""
    result = ldfa.anonymize_dataset("cityscapes", cityscapes_person, tmp_path / "out", method="solid",
                                    dataset_name=f"people-run-{tmp_path.name}", progress=False)
    try:
        assert result["detected"]["by_source"] == {"second_look": 1}
        assert result["anonymized"]["faces"] == 1 and result["verified"]["ok"]
        dataset = fo.load_dataset(result["dataset"])
        x, y, w, h = np.asarray(dataset.first().faces.detections[0].bounding_box) * [1024, 512, 1024, 512]
        out = np.asarray(Image.open(next((tmp_path / "out").rglob("*_leftImg8bit.png"))))
        box = out[int(y) : int(np.ceil(y + h)), int(x) : int(np.ceil(x + w))]
        assert box.size and (box == 0).all(), "the face box is solid black, not one pixel left"
    finally:
        fo.delete_dataset(result["dataset"])


def coco_doc(images, annotations):
    return {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "keypoints": ["nose", "left_eye", "right_eye",
                                                                      "left_ear", "right_ear"]}]}


def test_coco_face_keypoints_give_a_face_box_when_no_detector_finds_one(dataset, tmp_path):
    """A person whose face no detector can see (a flat grey patch) but whose nose, eyes and
    ears are annotated: the face box comes from the keypoints, and covers them."""
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (640, 480), (120, 120, 120)).save(images / "a.jpg")
    nose, left_eye, right_eye, left_ear, right_ear = (320, 110), (330, 100), (310, 100), (342, 104), (298, 104)
    keypoints = [v for x, y in (nose, left_eye, right_eye, left_ear, right_ear) for v in (x, y, 2)]
    person = {"id": 7, "image_id": 1, "category_id": 1, "bbox": [280, 80, 80, 300], "area": 24000,
              "iscrowd": 0, "keypoints": keypoints + [0, 0, 0] * 12, "num_keypoints": 5}
    back = {"id": 8, "image_id": 1, "category_id": 1, "bbox": [450, 80, 80, 300], "area": 24000,
            "iscrowd": 0, "keypoints": [0, 0, 0] * 17, "num_keypoints": 0}  # seen from behind
    (tmp_path / "person_keypoints.json").write_text(json.dumps(coco_doc(
        [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}], [person, back])))
    import_coco(images, tmp_path / "person_keypoints.json", dataset, progress=False)
    assert dataset.info["ldfa_source"]["people_fields"] == ["ground_truth"]

    summary = ldfa.detect_faces(dataset, people_field="ground_truth", progress=False)
    assert summary.by_source == {"keypoints": 1}
    [face] = dataset.first().faces.detections
    assert face.source == "keypoints" and face.confidence is None
    x, y, w, h = np.asarray(face.bounding_box) * [640, 480, 640, 480]
    assert x <= right_ear[0] and x + w >= left_ear[0] and y <= 100 and y + h >= 110 + 10
    assert 40 <= w <= 60, "about the ears' span: a face, not the whole head and shoulders"


def test_a_face_found_again_through_its_person_stays_one_face(dataset, tmp_path, sample_photos):
    """A person whose one annotated keypoint (an ear) lies at the edge of a face the detector
    found: its head region, around that ear, holds no face's centre, so its closer look or its
    keypoints add a box on that same face. The box lies inside the face's: one face, the
    detector's, grown to cover both."""
    images = tmp_path / "images"
    images.mkdir()
    Image.open(sample_photos[0]).convert("RGB").save(images / "a.jpg")  # the astronaut, 512 x 512
    [alone] = ldfa.detect_image(np.asarray(Image.open(images / "a.jpg")))
    x, y, w, h = np.asarray(alone["bounding_box"]) * 512
    ear = (x + w - 6, y + h / 2)
    keypoints = [0, 0, 0] * 3 + [*ear, 2] + [0, 0, 0] * 13
    person = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [x, y, w, 100], "area": w * 100,
              "iscrowd": 0, "keypoints": keypoints, "num_keypoints": 1}
    (tmp_path / "person_keypoints.json").write_text(json.dumps(coco_doc(
        [{"id": 1, "file_name": "a.jpg", "width": 512, "height": 512}], [person])))
    import_coco(images, tmp_path / "person_keypoints.json", dataset, progress=False)

    summary = ldfa.detect_faces(dataset, people_field="ground_truth", progress=False)
    [face] = dataset.first().faces.detections
    assert summary.faces == 1 and face.source == alone["source"] and face.confidence == alone["confidence"]
    fx, fy, fw, fh = np.asarray(face.bounding_box) * 512
    assert fx <= x and fy <= y and fx + fw >= x + w and fy + fh >= y + h
    assert fx <= ear[0] <= fx + fw and fy <= ear[1] <= fy + fh


def test_every_coco_person_with_face_keypoints_ends_up_with_a_face(dataset, shared_data):
    """Real COCO photos (../shared/data/coco-mini): every person whose nose, eyes or ears are
    annotated gets a face in its head region, and COCO-WholeBody's four face boxes are covered."""
    from ldfa.plugin.detection.people import people_in

    mini = shared_data / "coco-mini"
    import_coco(mini, mini / "test_coco.json", dataset, progress=False)
    summary = ldfa.detect_faces(dataset, people_field="ground_truth", progress=False)
    assert summary.by_source.get("centerface", 0) >= 4
    wholebody = json.loads((mini / "test_coco_wholebody.json").read_text())
    sizes = {im["file_name"]: (im["width"], im["height"]) for im in wholebody["images"]}
    files = {im["id"]: im["file_name"] for im in wholebody["images"]}
    faces = {s.file_name: s.faces.detections for s in dataset}
    people = {s.file_name: people_in(s.ground_truth, *sizes[s.file_name]) for s in dataset}
    for name, persons in people.items():
        w, h = sizes[name]
        boxes = [np.asarray(d.bounding_box) * [w, h, w, h] for d in faces[name]]
        centres = [(x + bw / 2, y + bh / 2) for x, y, bw, bh in boxes]
        for person in persons:
            if person.face_points is None:
                continue
            x1, y1, x2, y2 = person.head
            assert any(x1 <= cx < x2 and y1 <= cy < y2 for cx, cy in centres), (name, person.head)
    for ann in wholebody["annotations"]:
        if not ann.get("face_valid"):
            continue
        name = files[ann["image_id"]]
        w, h = sizes[name]
        fx, fy, fw, fh = ann["face_box"]
        covered, iou = 0.0, 0.0
        for d in faces[name]:
            x, y, bw, bh = np.asarray(d.bounding_box) * [w, h, w, h]
            iw = max(0.0, min(fx + fw, x + bw) - max(fx, x))
            ih = max(0.0, min(fy + fh, y + bh) - max(fy, y))
            covered = max(covered, iw * ih / (fw * fh))
            iou = max(iou, iw * ih / (fw * fh + bw * bh - iw * ih))
        assert covered >= 0.7 and iou >= 0.6, (name, ann["face_box"], covered, iou)
