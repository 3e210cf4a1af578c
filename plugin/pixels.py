"""Pixels in, pixels out: ``anonymize_image`` on an array or a PIL image, with no FiftyOne, no
files and no database (deface's ``get_anonymized_image``, on ldfa's engine).

Faces are FiftyOne's relative [x, y, width, height] boxes, or what ``detect_image`` returns;
none given, they are detected. After decoding, the image goes through the same function as
every image of a dataset run (``faces.anonymize_pixels``), so the same faces and seed give the
same pixels. A face's seed is keyed by its image's sample id; a bare image has none, so it uses
``key`` (``IMAGE_KEY`` unless given: pass a sample's id to reproduce its diffusion).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import FaceTask, ImagePlan, ImageTask, anonymize_pixels, load_painter, plan_faces
from ldfa.plugin.anonymization.methods import DEFAULT_METHOD
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.images import DeepImage, decode

IMAGE_KEY = "image"  # what keys a bare image's face seeds where a dataset's sample id would


def anonymize_image(image, faces=None, method: str = DEFAULT_METHOD, seed: int = 0, *,
                    key: str = IMAGE_KEY, preset: str | None = None, **params):
    """``image`` with every face replaced, as the same type: an array (H x W x 3 RGB, H x W grey,
    H x W x 4 RGBA; uint8, or uint16 for 16 bits a channel) or a PIL image (its mode, palette
    and metadata kept as ``anonymize_faces`` keeps them in files).

    Args:
        image: the pixels
        faces: relative [x, y, width, height] boxes, dicts or detections with a
            ``bounding_box`` (what ``detect_image`` returns); None detects them
        method: ``ldfa`` (latent diffusion), ``gauss``, ``pixelate`` or ``solid``
        seed: the run seed; each face's seed is a hash of it, ``key`` and the face's box
        key: stands for the sample id in face seeds
        preset: a named preset, as ``anonymize_faces`` takes it
        **params: as ``anonymize_faces`` (any field of ``AnonymizationConfig``)
    """
    config = AnonymizationConfig.build(preset=preset, method=method, seed=seed, **params)
    pixels, info = decode(image)
    if faces is None:
        from ldfa.plugin.detection.core import detect_image  # the detector loads torch

        faces = detect_image(pixels)
    # In memory: no file to read from or write to.
    task = ImageTask(key, "", "", tuple(FaceTask(str(i), _box(face)) for i, face in enumerate(faces)))
    plan = ImagePlan(task, pixels, info.stored, info.orientation, plan_faces(task, pixels, config))
    [out] = anonymize_pixels([plan], config, load_painter(config))
    if isinstance(out, DeepImage):
        return out.pixels
    return np.asarray(out) if isinstance(image, np.ndarray) else out


def _box(face) -> tuple[float, float, float, float]:
    """A face's relative [x, y, w, h]: the box itself, or its ``bounding_box``."""
    box = face["bounding_box"] if isinstance(face, Mapping) else getattr(face, "bounding_box", face)
    values = tuple(float(v) for v in box)
    if len(values) != 4:
        raise ConfigError(f"a face is a relative [x, y, width, height] box, got {box!r}")
    return values
