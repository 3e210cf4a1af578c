"""The licence-plate detectors (``ldfa.plugin.models.plates``): the real platedet model on labelled
photos of ../shared/data/plates (its zoom pass included), the letterbox geometry, NMS on corner
boxes, the config's checks, and the two other formats with tiny ONNX files built here: an
Ultralytics YOLO given by path and open-image-models' end-to-end export (their output a fixed
table of random candidates with a few planted plates, so the decoding can be checked exactly),
and open-image-models' download failing offline."""

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ldfa.plugin.errors import ConfigError, ModelUnavailableError
from ldfa.plugin.geometry.boxes import iou
from ldfa.plugin.io.images import read_rgb
from ldfa.plugin.models import plates
from ldfa.plugin.models.plates import (
    OIM_DEFAULT,
    OIM_MODELS,
    PlateDetectorConfig,
    detect_plates_in,
    letterbox,
    nms,
    unletterbox,
)
from ldfa_testing.plates import labelled_plates, shared_plates

# A clear plate the full frame scores 0.21 (under the default 0.4) that the second look confirms,
# and a 1280x720 dashcam frame (tiled) with two labelled plates
ZOOMED, DASHCAM = "eu_test_026.jpg", "ro_dayride_type1_003_mp4_t_52.jpg"
SIDE = 64  # the tiny models' input
IMAGE = np.zeros((100, 200, 3), dtype=np.uint8)  # letterboxed to 64: scale 0.32, 16 grey rows above


def corners(xywh) -> np.ndarray:
    return np.array([[x, y, x + w, y + h] for x, y, w, h in xywh])


def photos(*names):
    folder, _ = shared_plates()
    labels = labelled_plates()
    return [read_rgb(str(folder / "images" / n))[0] for n in names], [corners(labels[n]) for n in names]


def test_platedet_finds_the_labelled_plates():
    images, labels = photos(ZOOMED, DASHCAM)
    found = detect_plates_in(images, PlateDetectorConfig())
    for plates_found, labelled in zip(found, labels):
        boxes = np.array([p.box for p in plates_found])
        assert len(boxes) and (iou(labelled, boxes).max(axis=1) >= 0.5).all()
        scores = [p.score for p in plates_found]
        assert scores == sorted(scores, reverse=True) and min(scores) >= 0.4
        assert {p.source for p in plates_found} <= {"platedet", "zoom"}
    # magnified to the detector's input (573 x 410 -> 640) it scores under the confidence; at
    # its own scale, or in the second look's window, it is kept
    backend = plates.load_plate_backend("platedet")
    assert backend.run(images[0], 0.05)[1].max() < 0.4
    alone = detect_plates_in(images[:1], PlateDetectorConfig(plate_zoom="off"))[0]
    assert iou(labels[0], [p.box for p in alone]).max() >= 0.5


def test_a_large_plate_of_a_small_frame_comes_back_whole():
    """A 203 px plate in a 320 x 240 frame: magnified to 640 the detector saw 147 px of it; the
    frame at its own scale gives the whole plate, and the passes' boxes of one plate are one
    box covering them all."""
    [photo], [labelled] = photos("eu_eu1.jpg")
    x1, y1, x2, y2 = labelled[0]
    left, top = int((x1 + x2) / 2) - 200, int((y1 + y2) / 2) - 120
    frame = photo[top:top + 240, left:left + 320]
    [found] = detect_plates_in([frame], PlateDetectorConfig())
    [box] = [p.box for p in found if iou(np.array([[x1 - left, y1 - top, x2 - left, y2 - top]]), [p.box])[0, 0] > 0.3]
    inside = (min(box[2], x2 - left) - max(box[0], x1 - left)) * (min(box[3], y2 - top) - max(box[1], y1 - top))
    assert inside >= 0.9 * (x2 - x1) * (y2 - y1)


def test_letterbox_round_trip():
    image = np.zeros((300, 500, 3), dtype=np.uint8)
    image[100:140, 200:330] = 255  # a white "plate"
    canvas, ratio, offset = letterbox(image, (640, 640))
    assert canvas.shape == (640, 640, 3) and ratio == 640 / 500 and offset == (0, 128)
    assert (canvas[:128] == 114).all() and (canvas[-128:] == 114).all()  # Ultralytics' grey
    ys, xs = np.nonzero(canvas[..., 0] > 127)
    found = unletterbox([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], ratio, offset)[0]
    np.testing.assert_allclose(found, [200, 100, 330, 140], atol=1)


def test_nms_on_corner_boxes():
    boxes = np.array([[100, 50, 300, 100],  # a plate
                      [110, 52, 310, 102],  # the same plate again, IoU 0.86
                      [400, 50, 600, 100],  # another plate
                      [290, 50, 410, 100]], dtype=np.float32)  # between them, IoU 0.06 and 0.07
    scores = np.array([0.6, 0.9, 0.5, 0.3])
    assert nms(boxes, scores).tolist() == [1, 2, 3]
    assert nms(boxes, scores, threshold=0.9).tolist() == [1, 0, 2, 3]
    assert nms(np.zeros((0, 4)), np.zeros(0)).tolist() == []


def test_config_checks(tmp_path):
    assert PlateDetectorConfig().plate_detector == "platedet"
    bad = [dict(plate_size=3), dict(plate_detector="haar"), dict(plate_confidence=0.0),
           dict(plate_zoom="sometimes"), dict(plate_detector="yolo"),
           dict(plate_detector="yolo", plate_model=str(tmp_path / "missing.onnx")),
           dict(plate_model=str(tmp_path)), dict(plate_detector="open-image-models", plate_model="yolo-v12")]
    for params in bad:
        with pytest.raises(ConfigError):
            PlateDetectorConfig.build(**params)
    config = PlateDetectorConfig.build(plate_detector="open-image-models", plate_model=OIM_DEFAULT)
    assert config.device in ("cpu", "cuda")


def test_the_config_loads_no_model_library():
    """The command line and the App's forms read the config; importing it must stay instant."""
    code = "import sys, ldfa.plugin.models.plates; print(sorted({'torch', 'onnxruntime', 'cv2'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def constant_model(path, table: np.ndarray, output: str, input_type=TensorProto.FLOAT, metadata=None):
    """An ONNX file with input ``images`` [1, 3, SIDE, SIDE] whose output ``output`` is ``table``
    whatever the image (the image is read, times zero)."""
    nodes = [helper.make_node("Cast", ["images"], ["pixels"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["pixels"], ["total"], keepdims=0),
             helper.make_node("Mul", ["total", "zero"], ["nothing"]),
             helper.make_node("Add", ["table", "nothing"], [output])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("images", input_type, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, list(table.shape))],
        [numpy_helper.from_array(table.astype(np.float32), "table"), numpy_helper.from_array(np.float32(0), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, metadata or {})
    onnx.save(model, str(path))
    return path


def expected(canvas_corners) -> np.ndarray:
    """``IMAGE``'s pixels of corner boxes on its 64-px letterbox canvas."""
    return (np.asarray(canvas_corners, dtype=np.float64) - [0, 16, 0, 16]) / 0.32


def test_yolo_given_by_path(tmp_path):
    rng = np.random.default_rng(0)
    table = np.zeros((1, 4 + 2, 40), dtype=np.float32)  # classes car, license_plate
    table[0, :4] = rng.uniform(5, 60, (4, 40))
    table[0, 4:] = rng.uniform(0, 0.3, (2, 40))  # noise under the threshold
    plants = {3: ([20, 30, 16, 6], 0.0, 0.9),  # cx, cy, w, h; car score; plate score
              7: ([21, 30, 16, 6], 0.0, 0.8),  # the same plate, a weaker box: NMS drops it
              9: ([50, 40, 10, 4], 0.0, 0.6),  # another plate
              12: ([40, 20, 20, 10], 0.95, 0.1)}  # a car: not a plate
    for anchor, (box, car, plate) in plants.items():
        table[0, :, anchor] = [*box, car, plate]
    path = constant_model(tmp_path / "plates.onnx", table, "output0", TensorProto.FLOAT16,
                          {"names": "{0: 'car', 1: 'license_plate'}", "task": "detect"})
    config = PlateDetectorConfig.build(plate_detector="yolo", plate_model=str(path), plate_zoom="off",
                                       plate_confidence=0.5)
    found = detect_plates_in([IMAGE], config)[0]
    assert [p.source for p in found] == ["yolo", "yolo"] and [round(p.score, 2) for p in found] == [0.9, 0.6]
    np.testing.assert_allclose([p.box for p in found], expected([[12, 27, 28, 33], [45, 38, 55, 42]]),
                               atol=1e-3)


def test_yolo_refuses_another_output(tmp_path):
    path = constant_model(tmp_path / "seg.onnx", np.zeros((1, 7, 10)), "output0", metadata={"task": "segment"})
    with pytest.raises(ConfigError, match="not an Ultralytics YOLO"):
        detect_plates_in([IMAGE], PlateDetectorConfig(plate_detector="yolo", plate_model=str(path)))


def end2end_model(path):
    """open-image-models' format: rows (batch, x1, y1, x2, y2, class, score) after NMS."""
    rows = np.array([[0, 10, 20, 30, 26, 0, 0.8], [0, 40, 30, 52, 34, 0, 0.3], [0, 44, 40, 60, 46, 0, 0.5]])
    return constant_model(path, rows, "output")


def test_open_image_models_decoding(tmp_path):
    path = end2end_model(tmp_path / "end2end.onnx")
    config = PlateDetectorConfig(plate_detector="open-image-models", plate_model=str(path),
                                 plate_zoom="off", plate_confidence=0.4)
    found = detect_plates_in([IMAGE], config)[0]
    assert [p.source for p in found] == ["open-image-models"] * 2 and [round(p.score, 2) for p in found] == [0.8, 0.5]
    np.testing.assert_allclose([p.box for p in found], expected([[10, 20, 30, 26], [44, 40, 60, 46]]), atol=1e-3)


def test_open_image_models_from_the_cache_and_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("LDFA_CACHE", str(tmp_path))
    monkeypatch.setattr(plates, "OIM_RELEASE", "http://127.0.0.1:9/assets/")  # nothing listens there
    config = PlateDetectorConfig(plate_detector="open-image-models", plate_zoom="off")
    target = tmp_path / "open-image-models" / OIM_MODELS[OIM_DEFAULT]
    with pytest.raises(ModelUnavailableError) as error:
        detect_plates_in([IMAGE], config)
    message = str(error.value)
    assert f"http://127.0.0.1:9/assets/{OIM_MODELS[OIM_DEFAULT]}" in message and str(target) in message
    assert not target.parent.exists() or not any(target.parent.iterdir())  # nothing half-written
    target.parent.mkdir(parents=True, exist_ok=True)
    end2end_model(target)  # placed by hand, as the message says: used without the network
    plates.load_plate_backend.cache_clear()
    assert len(detect_plates_in([IMAGE], config)[0]) == 2
