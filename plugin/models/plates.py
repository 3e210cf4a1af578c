"""Licence-plate detectors behind one interface, recall first (issue 24).

Detectors (``PLATE_DETECTORS``; figures from bench/plates.py on ../shared/data/plates):
- ``platedet`` (default): the YOLOv8s-seg ONNX inside the PyPI wheel platedet==0.0.2
  (``platedet/artifacts/platedet.onnx``, trained on Brazilian plates), fetched without installing
  the package (its wheel pins pillow, opencv and onnxruntime exactly). Licence: the wheel states
  none; the ONNX's own metadata carries Ultralytics' export stamp ``AGPL-3.0``. Only its boxes
  are used (the 32 mask coefficients are ignored), with our own NMS on corner boxes: platedet's
  code feeds box centres to OpenCV's NMS as if they were corners.
- ``yolo``: any Ultralytics-format YOLO detection (or segmentation) ONNX given by path
  (``plate_model``), decoded like platedet; its input size and type are read from the graph.
- ``open-image-models``: the MIT-licensed YOLOv9 end-to-end plate detectors of
  github.com/ankandrew/open-image-models (NMS inside the graph), downloaded on first use from the
  project's GitHub release into ldfa's cache; ``plate_model`` names one (or a local copy).

Every detector sees an image letterboxed to its square input (grey 114 borders, as Ultralytics
trains), so any image size works; boxes come back in the image's pixels.

Recall first, with a zoom pass (``plate_zoom``, measured in bench/plates.py): candidates the full
frame scores between ``CANDIDATE_CONFIDENCE`` and ``plate_confidence`` get a second look, a window
twice their width that the detector sees magnified: there real plates score higher (0.13-0.47 ->
0.42-0.78 on the shared photos) and tail lights or lettering drop to ~0, so a weak candidate is
kept only when its second look reaches ``plate_confidence``. Every image (``all``, the default:
one plate more of the 115 than tiling only frames over 1.5x the detector's input, ``large``) is
also searched in 2x2 overlapping tiles, where far plates are seen larger; a frame smaller than
the input is looked at at its own scale too. Several passes' boxes of one plate merge into one
box covering them all.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ldfa.plugin.errors import ConfigError, ModelUnavailableError
from ldfa.plugin.geometry.boxes import iou
from ldfa.plugin.geometry.windows import square_crop
from ldfa.plugin.io.atomic import atomic_write
from ldfa.plugin.io.device import resolve_device
from ldfa.plugin.io.weights import PackagedFile, cache_dir, packaged_file
from ldfa.plugin.options import check, option, refuse_unknown

if TYPE_CHECKING:  # the face detectors' module loads torch: imported where a plate is made
    from ldfa.plugin.models.detector.backends import Face

PLATE_DETECTORS = ("platedet", "yolo", "open-image-models")
PLATEDET_WEIGHTS = PackagedFile(
    "platedet", "0.0.2", "platedet/artifacts/platedet.onnx",
    "aeeee6e8e7f756d3e9a94cb409fc767825671ab2b81b8bf36c03eb228d848a93",
)
# open-image-models' plate detectors (its hub.py): model name -> file of its "assets" release
OIM_RELEASE = "https://github.com/ankandrew/open-image-models/releases/download/assets/"
OIM_MODELS = {f"yolo-v9-{size}-license-plate-end2end": f"yolo-v9-{size}-license-plates-end2end.onnx"
              for size in ("s-608", "t-640", "t-512", "t-416", "t-384", "t-256")}
OIM_DEFAULT = "yolo-v9-s-608-license-plate-end2end"  # the best recall of the project's own table
PLATE_ZOOMS = ("all", "large", "off")
LETTERBOX_GREY = 114
NMS_IOU = 0.45
CANDIDATE_CONFIDENCE = 0.05  # the weakest full-frame candidate that gets a second look
SECOND_LOOK_WIDTHS = 2.0  # the second look's square window, in candidate widths ...
SECOND_LOOK_MIN_PX = 64  # ... and pixels at least
SECOND_LOOKS = 10  # at most this many per image, the best candidates first: bounds a crowded frame's cost
TILE_ABOVE = 1.5  # frames longer than this many detector inputs are tiled
TILE_OVERLAP = 0.25  # each of the 2x2 tiles is this much more than half the frame
TILE_EDGE_PX = 2  # a tile's box this close to an edge inside the image is a cut plate: another tile has it whole
CONTAINED = 0.8  # a box this much inside a better one is the same plate seen twice


@dataclass(frozen=True)
class PlateDetectorConfig:
    """Everything that decides which licence plates a detection run finds."""

    plate_detector: str = option("platedet", "licence-plate detector (platedet: the YOLO inside the "
                                 "platedet wheel, licence unstated; yolo: your Ultralytics ONNX, "
                                 "plate_model; open-image-models: MIT, downloaded from GitHub)",
                                 choices=PLATE_DETECTORS)
    plate_confidence: float = option(0.4, "score at which a plate is kept; weaker candidates get a "
                                     "zoomed second look", low=0.01, high=0.99)
    plate_zoom: str = option("all", "zoom pass: weak candidates get a second look, and every image is "
                             "also searched in 2x2 tiles (all: the best recall in bench/plates.py), "
                             "only frames over 1.5x the detector's input (large), or neither (off)",
                             choices=PLATE_ZOOMS)
    plate_model: str | None = option(None, "the ONNX file of detector yolo; for open-image-models, one "
                                     f"of its models (default {OIM_DEFAULT}) or a local copy")
    device: str | None = option(None, "cuda or cpu (default: cuda when present)", ui=False)

    @classmethod
    def build(cls, **params) -> "PlateDetectorConfig":
        """A validated config from field values by name; unknown names are refused."""
        refuse_unknown(cls, params, "plate detection")
        return cls(**params).validate()

    def validate(self) -> "PlateDetectorConfig":
        """This config checked, with the device decided."""
        check(self)
        model = self.plate_model
        if self.plate_detector == "platedet" and model is not None:
            raise ConfigError("plate_model is for the yolo and open-image-models detectors; platedet "
                              "brings its own")
        if self.plate_detector == "yolo" and (model is None or not Path(model).is_file()):
            raise ConfigError(f"plate detector yolo needs plate_model, the path of an Ultralytics YOLO "
                              f"ONNX file; got {model!r}")
        if self.plate_detector == "open-image-models" and model is not None and model not in OIM_MODELS \
                and not Path(model).is_file():
            raise ConfigError(f"plate_model {model!r} is neither an open-image-models plate model "
                              f"({', '.join(OIM_MODELS)}) nor a file")
        return replace(self, device=resolve_device(self.device))


def letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, tuple[int, int]]:
    """``image`` scaled to fit ``size`` (rows, columns) whole and centred on grey: what an
    Ultralytics model was trained on. Returns the canvas, the scale and the (left, top) offset."""
    import cv2

    h, w = image.shape[:2]
    ratio = min(size[0] / h, size[1] / w)
    new_w, new_h = max(1, round(w * ratio)), max(1, round(h * ratio))
    left, top = (size[1] - new_w) // 2, (size[0] - new_h) // 2
    canvas = np.full((*size, 3), LETTERBOX_GREY, dtype=np.uint8)
    resized = image if (new_h, new_w) == (h, w) else cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, ratio, (left, top)


def unletterbox(boxes: np.ndarray, ratio: float, offset: tuple[int, int]) -> np.ndarray:
    """Corner boxes on a ``letterbox`` canvas, back in the image's pixels."""
    return ((np.asarray(boxes, dtype=np.float32).reshape(-1, 4) - np.tile(offset, 2)) / ratio).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float = NMS_IOU) -> np.ndarray:
    """Indices of the corner boxes (x1, y1, x2, y2) kept by non-maximum suppression, best first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep = []
    while order.size:
        best, order = order[0], order[1:]
        keep.append(best)
        order = order[iou(boxes[best], boxes[order])[0] <= threshold]
    return np.asarray(keep, dtype=int)


def _centre_corners(cxcywh: np.ndarray) -> np.ndarray:
    centre, half = cxcywh[:, :2], cxcywh[:, 2:4] / 2
    return np.hstack([centre - half, centre + half])


def _session(model: str | bytes, device: str):
    """An onnxruntime session set up like the face detectors' (CUDA when asked, quiet, threads)."""
    from ldfa.plugin.models.detector.backends import _OnnxBackend

    return _OnnxBackend(model, device).session


class PlateBackend:
    """A loaded plate detector: ``run(image, confidence)`` -> corner boxes in the image's pixels
    and their scores, one box per plate, best first."""

    name = ""
    size = (640, 640)  # the network's input rows and columns

    def run(self, image: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class YoloBackend(PlateBackend):
    """An Ultralytics YOLO export: output [1, 4 + classes (+ 32 mask coefficients), anchors]
    of centre boxes and per-class scores (no objectness), on the letterboxed input / 255."""

    def __init__(self, name: str, model: Path, device: str):
        self.name = name
        self.session = _session(str(model), device)
        graph_input = self.session.get_inputs()[0]
        self.input = graph_input.name
        self.dtype = np.float16 if "float16" in graph_input.type else np.float32
        meta = self.session.get_modelmeta().custom_metadata_map
        spatial = graph_input.shape[2:]
        imgsz = json.loads(meta.get("imgsz", "[640, 640]"))  # a dynamic graph's export size
        self.size = tuple(d if isinstance(d, int) else s for d, s in zip(spatial, imgsz))
        names = _class_names(meta.get("names"))
        masks = 32 if meta.get("task") == "segment" else 0
        channels = self.session.get_outputs()[0].shape[1]
        classes = len(names) if names else channels - 4 - masks if isinstance(channels, int) else 1
        if isinstance(channels, int) and (classes < 1 or channels != 4 + classes + masks):
            raise ConfigError(f"{model} is not an Ultralytics YOLO detection export: its output has "
                              f"{channels} channels, not 4 + {classes} classes + {masks} mask coefficients")
        plates = [k for k, v in names.items() if "plate" in v.lower()]
        self.columns = 4 + np.asarray(plates or range(classes))  # a mixed model: its plate classes

    def run(self, image, confidence):
        canvas, ratio, offset = letterbox(image, self.size)
        x = (canvas.transpose(2, 0, 1)[None] / np.float32(255)).astype(self.dtype)
        out = self.session.run(None, {self.input: x})[0][0].astype(np.float32)  # (channels, anchors)
        scores = out[self.columns].max(axis=0)
        keep = scores >= confidence
        boxes, scores = _centre_corners(out[:4, keep].T), scores[keep]
        kept = nms(boxes, scores)
        return unletterbox(boxes[kept], ratio, offset), scores[kept]


def _class_names(text: str | None) -> dict[int, str]:
    """Ultralytics' ``names`` metadata, a Python dict literal such as ``{0: 'plate'}``."""
    import ast

    return {int(k): str(v) for k, v in ast.literal_eval(text).items()} if text else {}


class OpenImageModelsBackend(PlateBackend):
    """open-image-models' YOLOv9 end-to-end export: input [batch, 3, S, S] float32 RGB / 255
    letterboxed; output rows (batch index, x1, y1, x2, y2, class, score) on the canvas, after NMS."""

    name = "open-image-models"

    def __init__(self, model: str | None, device: str):
        path = oim_model_path(model or OIM_DEFAULT)
        try:
            self.session = _session(str(path), device)
        except Exception as error:  # onnxruntime's own errors share no base class
            raise ModelUnavailableError(f"{path} is not a loadable ONNX model ({error}); delete it "
                                        "to download it again") from None
        graph_input = self.session.get_inputs()[0]
        self.input = graph_input.name
        self.size = tuple(graph_input.shape[2:])

    def run(self, image, confidence):
        canvas, ratio, offset = letterbox(image, self.size)
        x = (canvas.transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32)
        rows = np.asarray(self.session.run(None, {self.input: x})[0], dtype=np.float32)
        rows = rows.reshape(-1, rows.shape[-1])
        rows = rows[rows[:, 6] >= confidence]
        rows = rows[np.argsort(-rows[:, 6], kind="stable")]
        return unletterbox(rows[:, 1:5], ratio, offset), rows[:, 6]


def oim_model_path(model: str) -> Path:
    """A local file of open-image-models' plate detector ``model`` (one of ``OIM_MODELS``, fetched
    once into ldfa's cache), or ``model`` itself when it is a file."""
    if model not in OIM_MODELS:
        if Path(model).is_file():
            return Path(model)
        raise ConfigError(f"unknown open-image-models plate model {model!r}; choose one of "
                          f"{', '.join(OIM_MODELS)}, or give the path of a local copy")
    target = cache_dir() / "open-image-models" / OIM_MODELS[model]
    if not target.exists():
        _download(OIM_RELEASE + OIM_MODELS[model], target)
    return target


def _download(url: str, target: Path) -> None:
    """``url`` into ``target``, whole or not at all."""
    import shutil
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=60) as response, atomic_write(target) as f:
            shutil.copyfileobj(response, f, 1 << 20)
    except OSError as error:  # URLError, HTTPError, timeouts, a full disk
        reason = getattr(error, "reason", error)
        raise ModelUnavailableError(
            f"could not download the plate model {url} ({reason}); download it where GitHub is "
            f"reachable and place it at {target}, or give a local copy as plate_model"
        ) from None


@functools.lru_cache(maxsize=4)
def load_plate_backend(detector: str, model: str | None = None, device: str | None = None) -> PlateBackend:
    """The plate detector ``detector`` on ``device``, loaded once per process."""
    device = resolve_device(device)
    if detector == "platedet":
        return YoloBackend("platedet", packaged_file(PLATEDET_WEIGHTS), device)
    if detector == "yolo":
        return YoloBackend("yolo", Path(model), device)
    if detector == "open-image-models":
        return OpenImageModelsBackend(model, device)
    raise ConfigError(f"unknown plate detector {detector!r}; choose one of {', '.join(PLATE_DETECTORS)}")


def detect_plates_in(images: list[np.ndarray], config: PlateDetectorConfig) -> list[list[Face]]:
    """Licence plates in each RGB uint8 image (any size), in its pixels, one box per plate, best
    first. Source: the detector's name for a plate the full frame found, ``zoom`` for one a tile or
    a second look found."""
    from ldfa.plugin.models.detector.backends import Face

    backend = load_plate_backend(config.plate_detector, config.plate_model, config.device)
    results = []
    for image in images:
        boxes, scores, zoomed = _plates(backend, image, config)
        h, w = image.shape[:2]
        boxes = boxes.clip(0, np.array([w, h, w, h], dtype=np.float32))
        results.append([Face(box, float(score), None, "zoom" if z else backend.name)
                        for box, score, z in zip(boxes, scores, zoomed) if box[2] > box[0] and box[3] > box[1]])
    return results


def _plates(backend: PlateBackend, image: np.ndarray, config: PlateDetectorConfig):
    """(boxes, scores, found by the zoom pass) of one image's plates, best first."""
    zoom = config.plate_zoom != "off"
    floor = min(CANDIDATE_CONFIDENCE, config.plate_confidence) if zoom else config.plate_confidence
    boxes, scores = backend.run(image, floor)
    zoomed = np.zeros(len(scores), dtype=bool)
    if image.shape[0] < backend.size[0] and image.shape[1] < backend.size[1]:
        # magnified to the input, a large plate of a small frame can come back cut short (a
        # 203 px plate of a 320 x 240 frame: 147 px): the frame at its own scale too
        native, native_scores = backend.run(_on_canvas(image, backend.size), floor)
        boxes, scores = np.vstack([boxes, native]), np.concatenate([scores, native_scores])
        zoomed = np.concatenate([zoomed, np.zeros(len(native_scores), dtype=bool)])
    large = max(image.shape[:2]) > TILE_ABOVE * max(backend.size)
    if config.plate_zoom == "all" or (config.plate_zoom == "large" and large):
        tile_boxes, tile_scores = _tiles(backend, image, floor)
        boxes, scores = np.vstack([boxes, tile_boxes]), np.concatenate([scores, tile_scores])
        zoomed = np.concatenate([zoomed, np.ones(len(tile_scores), dtype=bool)])
    kept, boxes = _merged(boxes, scores)
    scores, zoomed = scores[kept], zoomed[kept]
    strong = scores >= config.plate_confidence
    if zoom:
        for i in np.flatnonzero(~strong)[:SECOND_LOOKS]:
            look = _second_look(backend, image, boxes[i], config.plate_confidence)
            if look is not None:
                boxes[i], scores[i] = look
                zoomed[i] = strong[i] = True
    kept, grown = _merged(boxes[strong], scores[strong])  # a confirmed box may now overlap another
    return grown, scores[strong][kept], zoomed[strong][kept]


def _on_canvas(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` at its own scale in the top-left corner of a grey canvas of the detector's
    input ``size`` (rows, columns): its boxes there are its own pixels."""
    canvas = np.full((*size, 3), LETTERBOX_GREY, dtype=np.uint8)
    canvas[: image.shape[0], : image.shape[1]] = image
    return canvas


def _tiles(backend: PlateBackend, image: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Plates found in 2x2 overlapping tiles of ``image``, in its pixels; boxes cut by a tile's
    edge inside the image are left to the tile that holds them whole."""
    h, w = image.shape[:2]
    th, tw = min(h, round(h / 2 * (1 + TILE_OVERLAP))), min(w, round(w / 2 * (1 + TILE_OVERLAP)))
    boxes, scores = [np.zeros((0, 4), dtype=np.float32)], [np.zeros(0, dtype=np.float32)]
    for top in sorted({0, h - th}):
        for left in sorted({0, w - tw}):
            found, score = backend.run(image[top : top + th, left : left + tw], confidence)
            inner = np.ones(len(score), dtype=bool)
            if left > 0:
                inner &= found[:, 0] > TILE_EDGE_PX
            if left + tw < w:
                inner &= found[:, 2] < tw - TILE_EDGE_PX
            if top > 0:
                inner &= found[:, 1] > TILE_EDGE_PX
            if top + th < h:
                inner &= found[:, 3] < th - TILE_EDGE_PX
            boxes.append(found[inner] + np.array([left, top, left, top], dtype=np.float32))
            scores.append(score[inner])
    return np.vstack(boxes), np.concatenate(scores)


def _merged(boxes: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One box per plate among several passes' boxes, best first: the indices kept, and each
    kept box grown to cover the boxes it stands for (those overlapping it past NMS, or mostly
    inside it: a plate's half, found by another pass). Passes see a plate at different scales,
    and a magnified one may see only part of it: the whole is what must be replaced."""
    kept: list[int] = []
    grown: list[np.ndarray] = []
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        if kept:
            others = np.stack(grown)
            inside = _intersection(boxes[i], others) > CONTAINED * np.maximum(
                np.minimum(_area(boxes[i]), _area(others)), 1e-9)
            same = np.flatnonzero((iou(boxes[i], others)[0] > NMS_IOU) | inside)
            if len(same):
                j = same[0]
                grown[j] = np.concatenate([np.minimum(grown[j][:2], boxes[i][:2]),
                                           np.maximum(grown[j][2:], boxes[i][2:])])
                continue
        kept.append(i)
        grown.append(boxes[i].copy())
    return np.asarray(kept, dtype=int), np.asarray(grown, dtype=np.float32).reshape(-1, 4)


def _area(boxes: np.ndarray) -> np.ndarray:
    boxes = boxes.reshape(-1, 4)
    return (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)


def _intersection(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    lo, hi = np.maximum(box[:2], others[:, :2]), np.minimum(box[2:], others[:, 2:])
    return (hi - lo).clip(0).prod(axis=1)


def _second_look(backend: PlateBackend, image: np.ndarray, box: np.ndarray, confidence: float):
    """(box, score) of the plate a magnified window around candidate ``box`` confirms at
    ``confidence``, or None."""
    side = round(max(SECOND_LOOK_WIDTHS * (box[2] - box[0]), SECOND_LOOK_MIN_PX))
    left, top = (np.round((box[:2] + box[2:]) / 2) - side // 2).astype(int)
    found, scores = backend.run(square_crop(image, left, top, side), confidence)
    if not len(scores):
        return None
    found = found + np.array([left, top, left, top], dtype=np.float32)
    overlap = iou(box, found)[0]
    best = int(np.argmax(overlap))
    return (found[best], scores[best]) if overlap[best] > 0.3 else None
