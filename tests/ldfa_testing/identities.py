"""The photos of known people in ``../shared/data/identities``, faces found once, and how an
embedder scores every pair of them, at any face size.

Shared by ``bench/identity_by_size.py`` and the embedder tests, so both see the same faces.
"""

from __future__ import annotations

import csv
import itertools
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from ldfa.plugin.geometry.crops import FaceBox
from ldfa.plugin.io.images import read_rgb
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.detector.passes import detect


class Photo(NamedTuple):
    """One photo of a known person and its face at full resolution."""

    identity: str
    image: np.ndarray
    face: FaceBox


def load_photos(root: Path, per_identity: int | None = None) -> list[Photo]:
    """The single-face photos of ``root/identities.csv`` (at most ``per_identity`` each), with
    the largest face ldfa's default detector finds in each."""
    with open(root / "identities.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r["identity"].startswith("MULTI")]
    taken: dict[str, int] = {}
    photos = []
    for row in rows:
        if per_identity is not None and taken.get(row["identity"], 0) >= per_identity:
            continue
        image, _ = read_rgb(root / row["path"])
        faces = detect([image], DetectorConfig())[0]
        if not faces:
            print(f"no face found in {row['path']}: left out", file=sys.stderr)
            continue
        face = max(faces, key=lambda f: f.size)
        photos.append(Photo(row["identity"], image, FaceBox(face.box, face.landmarks)))
        taken[row["identity"]] = taken.get(row["identity"], 0) + 1
    return photos


def at_size(photo: Photo, size: int | None, landmarks: bool = True):
    """(image, face) with the whole photo downscaled so the face's shorter side is ``size`` px
    (None: the photo as it is); None when the face is smaller than that already."""
    marks = photo.face.landmarks if landmarks else None
    if size is None:
        return photo.image, FaceBox(photo.face.box, marks)
    factor = size / photo.face.size
    if factor > 1.0:
        return None
    height, width = photo.image.shape[:2]
    new_w, new_h = max(1, round(width * factor)), max(1, round(height * factor))
    image = np.asarray(Image.fromarray(photo.image).resize((new_w, new_h), Image.BOX))
    scale = np.array([new_w / width, new_h / height])
    return image, FaceBox(photo.face.box * np.tile(scale, 2), None if marks is None else marks * scale)


def embed_at_size(model, photos: list[Photo], size: int | None, landmarks: bool = True) -> list:
    """(identity, vector or reason) of every photo whose face is at least ``size`` px."""
    out = []
    for photo in photos:
        scaled = at_size(photo, size, landmarks)
        if scaled is not None:
            out.append((photo.identity, model.embed(scaled[0], [scaled[1]])[0]))
    return out


def pair_scores(model, embedded: list, threshold: float | None = None) -> dict:
    """Recall, false-accept rate and balanced accuracy over every pair of ``embedded`` faces."""
    threshold = model.threshold if threshold is None else threshold
    same, different = [], []
    for (id_a, a), (id_b, b) in itertools.combinations(embedded, 2):
        dist = np.inf if isinstance(a, str) or isinstance(b, str) else model.distance(a, b)
        (same if id_a == id_b else different).append(dist)
    same, different = np.array(same), np.array(different)
    recall = float((same < threshold).mean())
    false_accepts = float((different < threshold).mean())
    return {"faces": len(embedded), "same": len(same), "different": len(different),
            "no_vector": sum(isinstance(v, str) for _, v in embedded),
            "recall": recall, "far": false_accepts, "accuracy": (recall + 1.0 - false_accepts) / 2,
            "same_dists": same, "different_dists": different}
