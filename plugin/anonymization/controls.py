"""Control images for controlled LDFA, computed from the original face crop.

Each condition says something about what the face does, not who it is, in the form a public
ControlNet for Stable Diffusion 1.5 was trained on:

- ``face_mesh``: MediaPipe's face mesh drawn as the MediaPipe-face ControlNet
  (``CrucibleAI/ControlNetMediaPipeFace``, its ``diffusion_sd15`` weights) expects it, the way
  its training annotator draws: on black, 2-px lines (at 512 px) along the face oval, eyebrows,
  eyes and lips, each in its own colour, and a 4-px square on each pupil. Head pose, gaze,
  eye and mouth opening are in the drawing; the face's texture is not. A face the mesh cannot
  read (too small, turned away) gets a black image: no condition.
- ``canny``: OpenCV's Canny edges of the crop (thresholds 100/200, as the canny ControlNet's
  examples use), for ``lllyasviel/control_v11p_sd15_canny``. Edges keep more of the original
  face's shape than the mesh does: stronger at keeping attributes, weaker at changing identity.

Conditions cover the whole square crop the face is inpainted in (``diffusion.py``), so they
line up pixel for pixel with it.
"""

from __future__ import annotations

import cv2
import numpy as np

from ldfa.plugin.models.face_mesh import contours, load_face_mesh

# The MediaPipe-face ControlNet's drawing, as RGB (its annotator draws BGR colours on a BGR
# canvas, then reverses the channels): contour name -> colour.
MESH_COLOURS = {
    "FACEMESH_FACE_OVAL": (10, 200, 10),
    "FACEMESH_LEFT_EYE": (10, 200, 180),
    "FACEMESH_LEFT_EYEBROW": (10, 220, 180),
    "FACEMESH_RIGHT_EYE": (180, 200, 10),
    "FACEMESH_RIGHT_EYEBROW": (180, 220, 10),
    "FACEMESH_LIPS": (10, 180, 10),
}
PUPIL_COLOURS = ((250, 200, 10), (10, 200, 250))  # the subject's right, then left pupil
LINE_PX, PUPIL_HALF_PX, DRAWN_AT = 2, 2, 512  # at a 512-px canvas, scaled with the canvas
CANNY_THRESHOLDS = (100, 200)


def control_image(name: str, crop: np.ndarray, face_box) -> np.ndarray:
    """Condition ``name`` (one of ``config.CONTROLS``) of an RGB ``crop``, whose face is ``face_box``
    (x1, y1, x2, y2 in the crop's pixels), as an RGB image of the crop's size."""
    if name == "face_mesh":
        return face_mesh_image(crop, face_box)
    if name == "canny":
        edges = cv2.Canny(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), *CANNY_THRESHOLDS)
        return np.repeat(edges[..., None], 3, axis=2)
    raise ValueError(f"unknown control {name!r}")


def face_mesh_image(crop: np.ndarray, face_box) -> np.ndarray:
    """The face mesh of the face in ``face_box`` drawn as the MediaPipe-face ControlNet expects;
    black where the mesh finds no face."""
    canvas = np.zeros_like(crop)
    mesh = load_face_mesh().locate(crop, face_box)
    if not mesh.found:
        return canvas
    scale = crop.shape[0] / DRAWN_AT
    thickness, half = max(1, round(LINE_PX * scale)), max(1, round(PUPIL_HALF_PX * scale))
    points = np.floor(mesh.points[:, :2]).astype(int)  # as MediaPipe maps points to pixels
    named = contours()
    for contour, colour in MESH_COLOURS.items():
        for a, b in named[contour]:
            cv2.line(canvas, tuple(map(int, points[a])), tuple(map(int, points[b])), colour, thickness)
    for (x, y), colour in zip(np.floor(mesh.pupils).astype(int), PUPIL_COLOURS):
        canvas[max(y - half, 0) : max(y + half, 0), max(x - half, 0) : max(x + half, 0)] = colour
    return canvas
