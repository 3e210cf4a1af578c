"""Where a detector looks: the full frame, then a zoomed second look at weak candidates.

``detect(images, config)`` is recall-first, because a missed face is a privacy leak. The
full-frame pass keeps faces scoring ``confidence`` or more; weaker candidates down to
``candidate_confidence`` get a second look: the detector runs again on a window around them,
magnified ``zoom`` times, and every face it finds there at ``zoom_confidence`` or more is kept
(source ``zoom``). Street frames are mostly 8-20 px faces that a detector scores low at native
resolution and well at 2x; zooming only where a candidate is costs a fraction of a 2x pass over
the whole frame. Large frames are detected downscaled to ``max_side`` with boxes mapped back;
zoom windows are cut from the full-resolution image.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from ldfa.plugin.geometry.boxes import iou
from ldfa.plugin.geometry.windows import square_crop
from ldfa.plugin.models.detector.backends import MIN_IMAGE_PX, NMS_IOU, Backend, Face, load_backend, suppress
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.schema import CANDIDATE_SOURCE

# The zoom pass (measured on ../shared/data/street-faces, docs/results.md, "Detection"): a window of
# this many detection pixels around each weak candidate, enough context for the detector to see
# a head on shoulders; candidates this large or larger are scored well at full frame already.
ZOOM_WINDOW_PX = 128
ZOOM_BELOW_PX = 40
ZOOM_KEEP_MARGIN = 0.1  # faces centred in the window's outer 10 % are left to a neighbour window
ZOOM_GRID_PX = 64  # window centres snap to this grid; a candidate is then <= 32 px off centre,
# well inside the kept inner part (51 px each way)
ZOOM_BATCH = 16  # zoom windows per detector call (small and same-size: batching pays here)


def detect(images: list[np.ndarray], config: DetectorConfig, candidates: bool = False) -> list[list[Face]]:
    """Faces in each RGB uint8 image, in that image's full-resolution pixels, best first.

    Images are grouped by their detection size so backends can batch them; boxes are clipped
    to the image. Every face is kept however small (``min_face_px`` only marks faces, in
    ``detect_faces``): a dropped face would be a face left in the export. With ``candidates``,
    the weak full-frame candidates no pass kept follow each image's faces (source
    ``candidate``), for a tracker to keep where they continue a face's track.
    """
    config = config.validate()
    backend = load_backend(config.detector, config.device)
    # candidates score in [candidate_confidence, confidence): none when confidence is lower
    floor = min(config.candidate_confidence, config.confidence) if config.zooms else config.confidence
    threshold = max(floor, backend.min_confidence)
    results: list[list[Face]] = [[] for _ in images]
    groups: dict[tuple[int, int], list[tuple[int, np.ndarray, float]]] = {}
    for i, img in enumerate(images):
        if min(img.shape[:2]) < MIN_IMAGE_PX:
            continue  # no detectable face fits; some backends fail on such inputs
        scale = min(1.0, config.max_side / max(img.shape[:2]))
        small = img if scale == 1.0 else _resize(img, scale)
        groups.setdefault(small.shape[:2], []).append((i, small, scale))
    weak: list[tuple[int, Face, float]] = []  # (image index, candidate in detection px, scale)
    for members in groups.values():
        for start in range(0, len(members), config.batch_size):
            chunk = members[start : start + config.batch_size]
            found = backend.run([small for _, small, _ in chunk], threshold)
            for (i, _, scale), faces in zip(chunk, found):
                for face in faces:
                    if face.score >= config.confidence:
                        results[i].append(replace(face.scaled(1.0 / scale), source=backend.name))
                    else:
                        weak.append((i, face, scale))
    if config.zooms and weak:
        small = [(i, face, scale) for i, face, scale in weak if face.size < ZOOM_BELOW_PX]
        for i, face in _zoom(images, small, backend, config):
            results[i].append(face)
    found = [_clipped(suppress(faces), img) for img, faces in zip(images, results)]
    if candidates:
        for i, face, scale in weak:
            for weak_face in _clipped([replace(face.scaled(1.0 / scale), source=CANDIDATE_SOURCE)], images[i]):
                if not found[i] or iou([weak_face.box], [f.box for f in found[i]]).max() < NMS_IOU:
                    found[i].append(weak_face)
    return found


def _clipped(faces: list[Face], image: np.ndarray) -> list[Face]:
    """The faces clipped to the image, those left with no area dropped."""
    return [f for f in (_clip(f, image.shape[1], image.shape[0]) for f in faces) if f.size > 0]


def _zoom(images, weak, backend: Backend, config: DetectorConfig):
    """The zoom pass: (image index, face) for every face found in magnified windows around
    the weak candidates. Window centres snap to a grid of ``ZOOM_GRID_PX`` detection pixels, so
    nearby candidates (a crowd, or one head seen twice) share a window: each candidate stays
    within the window's kept inner part."""
    out_px = round(ZOOM_WINDOW_PX * config.zoom / 32) * 32
    centres = {(i, *np.round((face.box[:2] + face.box[2:]) / (2 * ZOOM_GRID_PX)).astype(int)): scale
               for i, face, scale in weak}  # (image, grid x, grid y) -> scale
    windows = []
    for (i, gx, gy), scale in centres.items():
        size = round(ZOOM_WINDOW_PX / scale)  # in full-resolution pixels
        windows.append((i, round(gx * ZOOM_GRID_PX / scale) - size // 2,
                        round(gy * ZOOM_GRID_PX / scale) - size // 2, size))
    found = detect_in_windows(images, windows, out_px, config.zoom_confidence, config)
    for (i, left, top, size), faces in zip(windows, found):
        inner = (left + ZOOM_KEEP_MARGIN * size, top + ZOOM_KEEP_MARGIN * size,
                 left + (1 - ZOOM_KEEP_MARGIN) * size, top + (1 - ZOOM_KEEP_MARGIN) * size)
        for face in faces:
            if face.centred_in(inner):
                yield i, replace(face, source="zoom")


def detect_in_windows(images: list[np.ndarray], windows, out_px: int, confidence: float,
                      config: DetectorConfig) -> list[list[Face]]:
    """Faces in square windows ``(image index, left, top, size)`` of full-resolution images,
    each magnified (or reduced) to ``out_px`` squared for the detector; boxes in image pixels.
    Same-size windows batch well, unlike whole frames."""
    backend = load_backend(config.detector, config.device)
    threshold = max(confidence, backend.min_confidence)
    results = []
    for start in range(0, len(windows), ZOOM_BATCH):
        chunk = windows[start : start + ZOOM_BATCH]
        crops = [_window(images[i], left, top, size, out_px) for i, left, top, size in chunk]
        for (_, left, top, size), faces in zip(chunk, backend.run(crops, threshold)):
            results.append([face.scaled(size / out_px, (left, top)) for face in faces])
    return results


def _window(image: np.ndarray, left: int, top: int, size: int, out_px: int) -> np.ndarray:
    """The ``size``-px square at (left, top) of ``image``, resized to ``out_px`` squared."""
    return np.asarray(Image.fromarray(square_crop(image, left, top, size)).resize(
        (out_px, out_px), Image.BILINEAR))


def _resize(img: np.ndarray, scale: float) -> np.ndarray:
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR))


def _clip(face: Face, width: int, height: int) -> Face:
    box = face.box.copy()
    box[[0, 2]] = box[[0, 2]].clip(0, width)
    box[[1, 3]] = box[[1, 3]].clip(0, height)
    return replace(face, box=box)
