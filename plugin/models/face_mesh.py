"""MediaPipe's Face Mesh: 468 3-D landmarks and pupil centres per face, without mediapipe's code.

The attribute metrics (``ldfa.plugin.metrics.attributes``) and the face-mesh control image of
controlled LDFA (``ldfa.plugin.anonymization.controls``) both need where a face's eyes, lids,
lips and outline are. The model files ship in the PyPI wheel ``mediapipe==0.10.14``
(``face_landmark.tflite``: 468 points and a face score; ``iris_landmark.tflite``: an eye's
contour and its iris); ldfa takes those files with pinned SHA-256 (``PackagedFile``), as the
detectors take theirs, because mediapipe's own package pulls ``opencv-contrib-python`` (a second
``cv2`` over FiftyOne's headless one) and jax. Newer mediapipe wheels ship no models.

Runtime: Google's ``ai-edge-litert`` (LiteRT, the successor of ``tflite-runtime``): one wheel
that runs the ``.tflite`` files as they are, on CPU, in a few milliseconds per face. Tried and
not used: ``face_landmark_with_attention.tflite`` (478 points with irises) needs a custom op
(``Landmarks2TransformMatrix``) that LiteRT's Python package cannot register; converting to
ONNX for onnxruntime would add a converter and a converted file to keep in step.

The face is cut the way MediaPipe tracks it: a square region of interest 1.5 times the face,
rotated so the eyes lie level, resized to 192 px (pixels in [0, 1]). A first pass from the
detector's box (and its eye landmarks, where it has them) finds the mesh; a second pass from
the mesh's own outline and eye corners refines it. Points come back in image pixels; ``z`` is
MediaPipe's relative depth (larger: further from the camera) in the same pixel scale. Pupils
come from the iris model on a 64-px crop of each eye (2.3 times the eye's width, levelled on
its corners, the subject's left eye mirrored as MediaPipe does).
"""

from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ldfa.plugin.errors import ModelUnavailableError
from ldfa.plugin.io.quiet import native_output_quiet
from ldfa.plugin.io.weights import PackagedFile, packaged_file

MEDIAPIPE = ("mediapipe", "0.10.14")
MESH_MODEL = PackagedFile(*MEDIAPIPE, "mediapipe/modules/face_landmark/face_landmark.tflite",
                          "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814")
IRIS_MODEL = PackagedFile(*MEDIAPIPE, "mediapipe/modules/iris_landmark/iris_landmark.tflite",
                          "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f")
# The mesh's named contours (lips, eyes, eyebrows, face oval) as pairs of point indices: data
# in the same wheel, read with ``ast.literal_eval`` (never imported or executed).
CONNECTIONS = PackagedFile(*MEDIAPIPE, "mediapipe/python/solutions/face_mesh_connections.py",
                           "cc7171e44d0612db38720cb2fd2516c395992cdd7457efe341543be6f3c22d87")

INPUT_PX = 192  # the mesh model's input side
IRIS_INPUT_PX = 64
ROI_SCALE = 1.5  # MediaPipe's face region: 1.5 x the face
IRIS_ROI_SCALE = 2.3  # MediaPipe's eye region: 2.3 x the eye's corner-to-corner width
MIN_SCORE = 0.5  # MediaPipe's face-presence threshold
# Mesh indices (MediaPipe's canonical face; "right" is the subject's right, left in the image).
RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS = (33, 133), (362, 263)  # outer, inner / inner, outer


@dataclass(frozen=True)
class Roi:
    """A square face region: centre (x, y), side and rotation (degrees, eyes level) in pixels."""

    cx: float
    cy: float
    side: float
    angle: float

    def matrix(self, out_px: int) -> np.ndarray:
        """The 2x3 affine map from image pixels to an ``out_px`` square crop of this region."""
        m = cv2.getRotationMatrix2D((self.cx, self.cy), self.angle, out_px / self.side)
        m[:, 2] += out_px / 2 - np.array([self.cx, self.cy])
        return m

    def crop(self, image: np.ndarray, out_px: int) -> np.ndarray:
        """The region resampled to ``out_px`` square, black outside the image."""
        return cv2.warpAffine(image, self.matrix(out_px), (out_px, out_px), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)

    def to_image(self, points: np.ndarray, out_px: int) -> np.ndarray:
        """Crop coordinates (N, 2+) back to image pixels; a third column is rescaled alike."""
        inverse = cv2.invertAffineTransform(self.matrix(out_px))
        out = points.astype(np.float64).copy()
        out[:, :2] = points[:, :2] @ inverse[:, :2].T + inverse[:, 2]
        if out.shape[1] > 2:
            out[:, 2:] *= self.side / out_px
        return out


def roi_from_box(box, eyes=None) -> Roi:
    """The region around a face box (x1, y1, x2, y2), levelled on ``eyes`` (image-left eye,
    image-right eye) where the detector gave them."""
    x1, y1, x2, y2 = (float(v) for v in box)
    angle = 0.0 if eyes is None else _level(eyes[0], eyes[1])
    return Roi((x1 + x2) / 2, (y1 + y2) / 2, ROI_SCALE * max(x2 - x1, y2 - y1), angle)


def roi_from_points(points: np.ndarray) -> Roi:
    """MediaPipe's tracking region from a mesh: its points' extent in the frame levelled on the
    outer eye corners, 1.5 times its longer side."""
    angle = _level(points[RIGHT_EYE_CORNERS[0], :2], points[LEFT_EYE_CORNERS[1], :2])
    rad = math.radians(angle)
    rot = np.array([[math.cos(rad), math.sin(rad)], [-math.sin(rad), math.cos(rad)]])
    levelled = points[:, :2] @ rot.T
    low, high = levelled.min(axis=0), levelled.max(axis=0)
    cx, cy = ((low + high) / 2) @ rot  # back to the image frame
    return Roi(float(cx), float(cy), ROI_SCALE * float((high - low).max()), angle)


def _level(left, right) -> float:
    """The rotation (degrees, OpenCV's sense) that puts ``right`` level with ``left``."""
    return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


@dataclass
class Mesh:
    """One face's mesh: ``points`` (468, 3) x, y in image pixels and relative depth; ``pupils``
    (2, 2): the subject's right then left pupil centre (None where not asked for); ``score``:
    face presence (0-1); ``roi``: the region it was read from."""

    points: np.ndarray
    pupils: np.ndarray | None
    score: float
    roi: Roi

    @property
    def found(self) -> bool:
        return self.score >= MIN_SCORE


class FaceMesh:
    """The Face Mesh and iris models, loaded once per process (``load_face_mesh``)."""

    def __init__(self):
        from ai_edge_litert.interpreter import Interpreter

        try:
            mesh_path, iris_path = packaged_file(MESH_MODEL), packaged_file(IRIS_MODEL)
        except ModelUnavailableError as e:
            raise ModelUnavailableError(f"face mesh model: {e}") from None
        with native_output_quiet():  # LiteRT's C++ announces its XNNPACK delegate on stderr
            self._mesh = _Model(Interpreter(model_path=str(mesh_path), num_threads=1))
            self._iris = _Model(Interpreter(model_path=str(iris_path), num_threads=1))
        self.provenance = {"model": f"{MESH_MODEL.requirement}:{MESH_MODEL.member}",
                           "sha256": MESH_MODEL.sha256, "iris_sha256": IRIS_MODEL.sha256}

    def locate(self, image: np.ndarray, box, eyes=None, pupils: bool = True) -> Mesh:
        """The mesh of the face in ``box``: read from the box's region, then refined once from
        the region of the mesh found there (MediaPipe's tracking step). ``pupils``: also run
        the iris model (the control image draws pupils; the attribute metrics do not read them)."""
        first = self.read(image, roi_from_box(box, eyes), pupils=False)
        if not first.found:
            return first
        second = self.read(image, roi_from_points(first.points), pupils)
        if second.found:
            return second
        return self.read(image, first.roi) if pupils else first  # the first pass, with pupils

    def read(self, image: np.ndarray, roi: Roi, pupils: bool = True) -> Mesh:
        """The mesh read from exactly ``roi`` (two images compared face by face share one)."""
        crop = roi.crop(image, INPUT_PX).astype(np.float32) / 255.0
        raw, logit = self._mesh(crop)
        points = roi.to_image(raw.reshape(-1, 3), INPUT_PX)
        score = 1.0 / (1.0 + math.exp(-float(logit.ravel()[0])))
        return Mesh(points, self._pupils(image, points) if pupils else None, score, roi)

    def _pupils(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        out = []
        for corners, mirror in ((RIGHT_EYE_CORNERS, False), (LEFT_EYE_CORNERS, True)):
            a, b = points[corners[0], :2], points[corners[1], :2]
            centre = (a + b) / 2
            roi = Roi(float(centre[0]), float(centre[1]),
                      IRIS_ROI_SCALE * float(np.linalg.norm(b - a)) + 1e-6, _level(a, b))
            crop = roi.crop(image, IRIS_INPUT_PX).astype(np.float32) / 255.0
            if mirror:
                crop = crop[:, ::-1]
            iris = self._iris(np.ascontiguousarray(crop))[1].reshape(-1, 3)[:1, :2].copy()
            if mirror:
                iris[:, 0] = IRIS_INPUT_PX - iris[:, 0]
            out.append(roi.to_image(iris, IRIS_INPUT_PX)[0])
        return np.array(out)


class _Model:
    """One LiteRT interpreter: a single image in, its outputs in the model's order."""

    def __init__(self, interpreter):
        interpreter.allocate_tensors()
        self.interpreter = interpreter
        self.input = interpreter.get_input_details()[0]["index"]
        self.outputs = [d["index"] for d in interpreter.get_output_details()]

    def __call__(self, crop: np.ndarray) -> list[np.ndarray]:
        self.interpreter.set_tensor(self.input, crop[None])
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(i) for i in self.outputs]


@functools.lru_cache(maxsize=1)
def load_face_mesh() -> FaceMesh:
    return FaceMesh()


@functools.lru_cache(maxsize=1)
def contours() -> dict[str, list[tuple[int, int]]]:
    """The mesh's named contours (``FACEMESH_LIPS``, ``_LEFT_EYE``, ``_FACE_OVAL`` ...) as index
    pairs, read as data from mediapipe's connection table (sorted, so drawing is repeatable)."""
    tree = ast.parse(packaged_file(CONNECTIONS).read_text())
    out = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and len(node.value.args) == 1
                and isinstance(node.value.args[0], ast.List)):
            out[node.targets[0].id] = sorted(ast.literal_eval(node.value.args[0]))
    return out
