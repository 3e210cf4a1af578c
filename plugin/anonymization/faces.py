"""How one image's faces become new pixels and a new file: shared by every anonymization run.

``plan_faces`` decides each face's region, blend ring, method and seed; ``render`` makes the new
pixels of a batch of images (diffusion batched across all their faces); ``write_image`` saves
the image atomically in its source format and records each face's facts on its detection.
``anonymize_faces`` (a whole collection) and ``reanonymize_faces`` (chosen faces again, with a
new seed) are both built from these.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import fiftyone as fo
import numpy as np

from ldfa.plugin.anonymization.diffusion import FaceJob
from ldfa.plugin.anonymization.masks import blend_weights, face_region, face_shape, paste_region
from ldfa.plugin.anonymization.methods import CLASSIC, CLASSIC_PARAMS
from ldfa.plugin.io.output import compose, save_atomic
from ldfa.plugin.schema import face_fact


@dataclass
class AnonymizationSummary:
    """What an anonymization run did."""

    field: str
    method: str
    images: int = 0
    written: int = 0
    resumed: int = 0  # already done by an earlier run with the same config
    unchanged: int = 0  # no faces: copied (or linked) as they are
    faces: int = 0
    methods_applied: dict[str, int] = dataclasses.field(default_factory=dict)
    failures: list[dict] = dataclasses.field(default_factory=list)
    identity_guard: dict | None = None  # what the identity guard did, when it ran

    @property
    def failed(self) -> int:
        return len(self.failures)

    def count(self, faces) -> None:
        for face in faces:
            self.faces += 1
            name = face.method or "none"
            self.methods_applied[name] = self.methods_applied.get(name, 0) + 1

    def to_dict(self) -> dict:
        return {**asdict(self), "failed": self.failed}

    def __str__(self) -> str:
        applied = ", ".join(f"{n} {m}" for m, n in sorted(self.methods_applied.items())) or "none"
        lines = [f"{self.images} images: {self.written} written, {self.resumed} already done, "
                 f"{self.unchanged} without faces copied, {self.failed} failed; {self.faces} faces "
                 f"({applied}) -> field '{self.field}'"]
        lines += [f"  failed: {f['filepath']}: {f['error']}" for f in self.failures]
        return "\n".join(lines)


def face_seed(run_seed: int, sample_id: str, face_index: int, attempt: int) -> int:
    """A stable 63-bit seed per face: reruns reproduce it, a new attempt changes it."""
    text = f"{run_seed}:{sample_id}:{face_index}:{attempt}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


@dataclass
class FacePlan:
    """One face's plan: where, which method, which seed, and why not the requested method."""

    detection: fo.Detection
    index: int
    region: tuple[int, int, int, int]  # the face box in pixels
    paste: tuple[int, int, int, int]  # the box and its blend ring: every pixel it may change
    shape: np.ndarray  # bool over ``paste``: the face itself, replaced whole
    method: str | None
    skipped: str | None
    attempt: int

    @property
    def size(self) -> int:
        """The box's shorter side in pixels: what strengths and ``min_face_px`` go by."""
        return min(self.region[2] - self.region[0], self.region[3] - self.region[1])

    def seed(self, run_seed: int, sample_id: str) -> int:
        return face_seed(run_seed, sample_id, self.index, self.attempt)


@dataclass
class ImagePlan:
    sample: fo.Sample
    pixels: np.ndarray  # display orientation RGB the faces are computed from
    orientation: int
    target: Path
    faces: list[FacePlan]
    redo: set[int] | None = None  # face indices to recompute; None: all
    original: np.ndarray | None = None  # the source image, when ``pixels`` are a previous version


def plan_faces(sample, pixels, config, faces_field, field, bump=frozenset()) -> list[FacePlan]:
    """Which method each face gets; attempts of faces in ``bump`` (detection ids) go up by one."""
    height, width = pixels.shape[:2]
    planned = []
    for index, det in enumerate(sample[faces_field].detections):
        region = face_region(width, height, det.bounding_box, config.mask_grow)
        paste = paste_region(region, config.mask_blur_px, width, height, config.mask_ellipse)
        shape = face_shape(region, paste, config.mask_ellipse)
        attempt = (det[f"{field}_attempt"] if det.has_field(f"{field}_attempt") else 0) or 0
        attempt += det.id in bump
        face = FacePlan(det, index, region, paste, shape, config.method, None, attempt)
        if face.size <= 0:
            face.method, face.skipped = None, "face box lies outside the image"
        elif face.size < config.min_face_px and config.fallback != config.method:
            face.method = config.fallback
            face.skipped = (f"face {face.size}px < min_face_px {config.min_face_px}: "
                            f"{config.fallback} instead of {config.method}")
        planned.append(face)
    return planned


def render(items: list[ImagePlan], config, inpainter) -> list[tuple[np.ndarray, np.ndarray]]:
    """New display pixels and the changed-pixel mask of each image; diffusion runs batched
    over the faces of all ``items`` together.

    Each face's new pixels are blended in through its weights (1 on the face, fading outside
    it); then every face is pasted once more, hard, so that a neighbour's blend ring crossing
    a face never brings its original back."""
    todo = [(item, face) for item in items for face in item.faces
            if face.method is not None and (item.redo is None or face.index in item.redo)]
    new = {(id(item), face.index): None for item, face in todo}
    diffused = [(item, face) for item, face in todo if face.method == "ldfa"]
    jobs = [FaceJob(item.pixels, face.paste, face.shape, face.seed(config.seed, item.sample.id),
                    item.original) for item, face in diffused]
    for (item, face), pixels in zip(diffused, inpainter(jobs) if jobs else []):
        if isinstance(pixels, str):  # diffusion could not run on this face
            face.method, face.skipped = config.fallback, f"{pixels}: {config.fallback} instead"
        else:
            new[(id(item), face.index)] = pixels
    for item, face in todo:
        if face.method in CLASSIC:
            params = {name: getattr(config, name) for name in CLASSIC_PARAMS[face.method]}
            new[(id(item), face.index)] = CLASSIC[face.method](item.pixels, face.paste, face.size, **params)
    rendered = []
    for item in items:
        out = item.pixels.astype(np.float32)
        mask = np.zeros(item.pixels.shape[:2], dtype=bool)
        placed = [(face, new.get((id(item), face.index))) for face in item.faces if face.method]
        for face, pixels in placed:
            x1, y1, x2, y2 = face.paste
            weight = blend_weights(face.shape, config.mask_blur_px)
            mask[y1:y2, x1:x2] |= weight > 0
            if pixels is not None:
                w = weight[..., None]
                out[y1:y2, x1:x2] = w * pixels + (1 - w) * out[y1:y2, x1:x2]
        for face, pixels in placed:
            if pixels is not None:
                x1, y1, x2, y2 = face.paste
                out[y1:y2, x1:x2][face.shape] = pixels[face.shape]
        rendered.append((np.clip(np.rint(out), 0, 255).astype(np.uint8), mask))
    return rendered


def write_image(item: ImagePlan, pixels: np.ndarray, mask: np.ndarray, config, faces_field: str,
           field: str) -> None:
    """Save the image atomically, then record each recomputed face's facts on its detection.

    The facts go through ``set_label_values`` because a document save drops None values, and
    ``<field>_skipped`` is None for every face that got the requested method."""
    sample = item.sample
    save_atomic(compose(sample.filepath, pixels, mask, item.orientation), item.target, config.jpeg_quality)
    redone = [f for f in item.faces if item.redo is None or f.index in item.redo]
    facts = {
        "seed": {f.detection.id: f.seed(config.seed, sample.id) for f in redone},
        "method": {f.detection.id: f.method for f in redone},
        "skipped": {f.detection.id: f.skipped for f in redone},
        "attempt": {f.detection.id: f.attempt for f in redone},
    }
    just_this = sample._dataset.select(sample.id)  # keeps each write O(1) in the dataset size
    for name, values in facts.items():
        just_this.set_label_values(f"{faces_field}.detections.{face_fact(field, name)}", values)
