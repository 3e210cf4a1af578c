"""The anonymization core: tasks in, new image files and per-face facts out, no database.

``anonymize_images`` is what every engine runs on a batch of images: ``plan_faces`` decides each
face's region, blend ring, method and seed; ``render`` makes the new pixels (diffusion batched
across all faces of the batch); each image is saved atomically in its source format. A task is
a plain record (paths, face boxes, attempts) the driver reads from FiftyOne; a result is the
written path and each face's facts, which the driver writes back. ``anonymize_faces`` (a whole
collection) and ``reanonymize_faces`` (chosen faces again, with a new seed) both drive it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.methods import METHODS
from ldfa.plugin.errors import ImageError, OutputError
from ldfa.plugin.freshness import box_key, faces_digest
from ldfa.plugin.geometry.masks import blend_weights, face_region, face_shape, paste_region
from ldfa.plugin.io.device import torch_threads, use_torch_threads
from ldfa.plugin.io.images import DeepImage, read_rgb
from ldfa.plugin.io.output import compose, copy_atomic, save_atomic

IMAGES_PER_CHUNK = 8  # images per call of the core: their faces share rounds of diffusion batches


@dataclass
class AnonymizationSummary:
    """What an anonymization run did."""

    field: str
    method: str
    output_dir: str | None = None  # the folder the images were written to
    images: int = 0
    written: int = 0
    resumed: int = 0  # already done by an earlier run with the same config
    unchanged: int = 0  # no faces: copied (or linked) as they are
    faces: int = 0
    methods_applied: dict[str, int] = dataclasses.field(default_factory=dict)
    plates: int = 0  # licence plates replaced (by the run's plate method)
    failures: list[dict] = dataclasses.field(default_factory=list)
    identity_guard: dict | None = None  # what the identity guard did, when it ran

    @property
    def failed(self) -> int:
        return len(self.failures)

    def count(self, result: "ImageResult") -> None:
        """Add one image's result: written, copied without faces, or failed."""
        self.images += 1
        if result.error is not None:
            self.failures.append({"filepath": result.filepath, "error": result.error})
            return
        self.unchanged += result.unchanged
        self.written += not result.unchanged
        self._tally(facts["method"] for facts in result.facts.values() if facts["kind"] == "face")
        self.plates += sum(facts["kind"] == "plate" for facts in result.facts.values())

    def add_resumed(self, methods: list[list[str | None] | None], plates: int = 0) -> None:
        """Count the images an earlier run of the same config finished, with the method each of
        their faces got (one list per image), and their ``plates``."""
        self.images += len(methods)
        self.resumed += len(methods)
        self.plates += plates
        self._tally(m for per_image in methods for m in per_image or [])

    def _tally(self, methods) -> None:
        """Count faces by the method each got (None: no method, its box lay outside the image)."""
        for method in methods:
            self.faces += 1
            self.methods_applied[method or "none"] = self.methods_applied.get(method or "none", 0) + 1

    def to_dict(self) -> dict:
        return {**asdict(self), "failed": self.failed}

    def __str__(self) -> str:
        applied = ", ".join(f"{n} {m}" for m, n in sorted(self.methods_applied.items())) or "none"
        lines = [f"{self.images} images: {self.written} written, {self.resumed} already done, "
                 f"{self.unchanged} without faces copied, {self.failed} failed; {self.faces} faces "
                 f"({applied})" + (f", {self.plates} licence plates" if self.plates else "")
                 + f" -> field '{self.field}'"
                 + (f", folder {self.output_dir}" if self.output_dir else "")]
        lines += [f"  failed: {f['filepath']}: {f['error']}" for f in self.failures]
        return "\n".join(lines)


def face_seed(run_seed: int, sample_id: str, box, attempt: int, track: str | None = None) -> int:
    """A stable 63-bit seed per face, keyed by its box: reruns reproduce it, a new attempt
    changes it, and a face whose box did not change keeps it when others are added, edited or
    detected again around it. A tracked face (video, sequence) is keyed by its ``track``
    instead, so one person gets one new identity in every frame."""
    key = f"track:{track}" if track is not None else f"{sample_id}:{box_key(box)}"
    text = f"{run_seed}:{key}:{attempt}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


@dataclass(frozen=True)
class FaceTask:
    """One face (or licence plate) of an image: its label id, relative [x, y, w, h] box and anonymization attempt;
    ``track`` names the person across frames (unique in the dataset), None for a still image;
    ``landmarks``: the detector's 5 relative (x, y) points, which carry a video's diffused face
    to the frames between keyframes (``carry.py``)."""

    id: str
    box: tuple[float, float, float, float]
    attempt: int = 0
    track: str | None = None
    landmarks: tuple | None = None
    kind: str = "face"  # or "plate": a licence plate, replaced whole by the run's plate method


@dataclass(frozen=True)
class ImageTask:
    """What anonymizing one image needs; ``faces`` is None when detection never ran on it."""

    sample_id: str
    filepath: str  # the original: its format, and its pixels outside the faces
    target: str  # where the anonymized image goes
    faces: tuple[FaceTask, ...] | None
    source: str | None = None  # start from these pixels instead (an anonymized image, to redo faces)
    redo: frozenset[str] | None = None  # ids of the faces to recompute; None: every face

    @property
    def faces_digest(self) -> str | None:
        """What the written image is made from (``ldfa.plugin.freshness``)."""
        return None if self.faces is None else faces_digest((f.id, f.box, f.attempt) for f in self.faces)


@dataclass
class ImageResult:
    """One image's outcome: the file written (or why not) and the facts of each face recomputed
    (face id -> ``seed``, ``method``, ``skipped``, ``attempt``: ``schema.FACE_FACTS``)."""

    sample_id: str
    filepath: str
    target: str | None
    error: str | None = None
    unchanged: bool = False  # no faces: copied (or linked) as it is
    facts: dict[str, dict] = dataclasses.field(default_factory=dict)
    faces_digest: str | None = None  # of the faces the written image replaced


@dataclass
class FacePlan:
    """One face's plan: where, which method, which seed, and why not the requested method."""

    face: FaceTask
    index: int
    region: tuple[int, int, int, int]  # the face box in pixels
    paste: tuple[int, int, int, int]  # the box and its blend ring: every pixel it may change
    shape: np.ndarray  # bool over ``paste``: the face itself, replaced whole
    method: str | None
    skipped: str | None

    @property
    def size(self) -> int:
        """The box's shorter side in pixels: what strengths and ``min_face_px`` go by."""
        return min(self.region[2] - self.region[0], self.region[3] - self.region[1])

    def seed(self, run_seed: int, sample_id: str) -> int:
        return face_seed(run_seed, sample_id, self.face.box, self.face.attempt, self.face.track)

    def facts(self, run_seed: int, sample_id: str) -> dict:
        return {"seed": self.seed(run_seed, sample_id), "method": self.method,
                "skipped": self.skipped, "attempt": self.face.attempt, "kind": self.face.kind}


@dataclass
class ImagePlan:
    task: ImageTask
    pixels: np.ndarray  # display orientation RGB the faces are computed from
    stored: Image.Image | DeepImage | str  # what the new image is composed on (``output.compose``)
    orientation: int
    faces: list[FacePlan]
    original: np.ndarray | None = None  # the source image, when ``pixels`` are a previous version

    @property
    def redone(self) -> list[FacePlan]:
        return [f for f in self.faces if self.task.redo is None or f.face.id in self.task.redo]


@dataclass(frozen=True)
class AnonymizeWorker:
    """The anonymization core as a worker; the diffusion model loads once per process, which
    runs torch with ``threads`` CPU threads (``use_torch_threads``: the same pixels anywhere)."""

    config: AnonymizationConfig
    threads: int | None = None

    @classmethod
    def like_here(cls, config: AnonymizationConfig) -> "AnonymizeWorker":
        """A worker that runs torch as this process does, for a run that diffuses."""
        return cls(config, torch_threads() if config.uses_diffusion else None)

    def __call__(self, tasks: list[ImageTask]) -> Iterator[ImageResult]:
        use_torch_threads(self.threads)
        return anonymize_images(tasks, self.config, load_painter(self.config))


def load_painter(config: AnonymizationConfig):
    """The painter of the run's batched method (the diffusion model), or None when the run uses
    none: torch and diffusers load only in a process that diffuses."""
    batched = [m for m in (config.method, config.fallback) if METHODS[m].batched]
    return METHODS[batched[0]].load(config) if batched else None


def anonymize_images(tasks: list[ImageTask], config: AnonymizationConfig, inpainter
                     ) -> Iterator[ImageResult]:
    """Anonymize each image of ``tasks`` into its target, handing over each image's result as
    soon as its file is complete (so a run resumes image by image); failures are results."""
    items = []
    for task in tasks:
        try:
            if task.faces is None:
                raise ImageError("no face detection for this image (its detection failed or never ran)")
            if task.redo is not None and not task.source:
                raise ImageError("no anonymized image to redo faces in")
            if not task.faces:
                copy_atomic(task.filepath, task.target, link=config.link_unchanged)
                yield ImageResult(task.sample_id, task.filepath, task.target, unchanged=True,
                                  faces_digest=task.faces_digest)
                continue
            pixels, info = read_rgb(task.source or task.filepath)
            # Redoing faces in a previous version: conditions still describe the original faces.
            original = read_rgb(task.filepath)[0] if task.source and config.conditioned else None
        except (ImageError, OutputError) as e:
            yield ImageResult(task.sample_id, task.filepath, None, str(e))
            continue
        # The file the new image is composed on: the source as decoded here, or, redoing faces
        # in a previous version, the source file (so a JPEG is not re-encoded twice over).
        stored = task.filepath if task.source else info.stored
        items.append(ImagePlan(task, pixels, stored, info.orientation,
                               plan_faces(task, pixels, config), original))
    for item, new in zip(items, anonymize_pixels(items, config, inpainter)):
        task = item.task
        try:
            save_atomic(new, Path(task.target), config.jpeg_quality)
        except ImageError as e:
            yield ImageResult(task.sample_id, task.filepath, None, str(e))
            continue
        facts = {f.face.id: f.facts(config.seed, task.sample_id) for f in item.redone}
        yield ImageResult(task.sample_id, task.filepath, task.target, facts=facts,
                          faces_digest=task.faces_digest)


def plan_faces(task: ImageTask, pixels: np.ndarray, config: AnonymizationConfig) -> list[FacePlan]:
    """Which method each face (and licence plate) of ``task`` gets, and where: a plate's box,
    tight from its detector, grows by ``plate_grow`` and is replaced whole by the plate method."""
    height, width = pixels.shape[:2]
    planned = []
    for index, face in enumerate(task.faces):
        plate = face.kind == "plate"
        grow, ellipse = (config.plate_grow, False) if plate else (config.mask_grow, config.mask_ellipse)
        region = face_region(width, height, face.box, grow)
        paste = paste_region(region, config.mask_blur_px, width, height, ellipse)
        shape = face_shape(region, paste, ellipse)
        plan = FacePlan(face, index, region, paste, shape, config.plates_method if plate else config.method, None)
        if plan.size <= 0:
            plan.method, plan.skipped = None, f"{face.kind} box lies outside the image"
        elif not plate and plan.size < config.min_face_px and config.fallback != config.method:
            plan.method = config.fallback
            plan.skipped = (f"face {plan.size}px < min_face_px {config.min_face_px}: "
                            f"{config.fallback} instead of {config.method}")
        planned.append(plan)
    return planned


def anonymize_pixels(items: list[ImagePlan], config: AnonymizationConfig, inpainter
                     ) -> Iterator[Image.Image | DeepImage]:
    """Each planned image with its faces replaced, as it is stored (``output.compose``): what
    the engine core writes and ``ldfa.anonymize_image`` returns, so the two agree."""
    for item, (pixels, mask) in zip(items, render(items, config, inpainter)):
        yield compose(item.stored, pixels, mask, item.orientation, config.strip_metadata)


def render(items: list[ImagePlan], config, inpainter) -> list[tuple[np.ndarray, np.ndarray]]:
    """New display pixels and the changed-pixel mask of each image; diffusion runs batched
    over the faces of all ``items`` together.

    Each face's new pixels are blended in through its weights (1 on the face, fading outside
    it); then every face is pasted once more, hard, so that a neighbour's blend ring crossing
    a face never brings its original back."""
    todo = [(item, face) for item in items for face in item.redone if face.method is not None]
    new = {(id(item), face.index): None for item, face in todo}
    diffused = [(item, face) for item, face in todo if METHODS[face.method].batched]
    if diffused:  # torch and diffusers load only in a process that diffuses
        from ldfa.plugin.anonymization.diffusion import FaceJob
    jobs = [FaceJob(item.pixels, face.paste, face.shape, face.seed(config.seed, item.task.sample_id),
                    item.original) for item, face in diffused]
    for (item, face), pixels in zip(diffused, inpainter(jobs) if jobs else []):
        if isinstance(pixels, str):  # diffusion could not run on this face: a classic method can
            fallback = "solid" if METHODS[config.fallback].batched else config.fallback
            face.method, face.skipped = fallback, f"{pixels}: {fallback} instead"
        else:
            new[(id(item), face.index)] = pixels
    for item, face in todo:
        method = METHODS[face.method]
        if method.paint:  # the config holds every method's parameters
            params = dataclasses.replace(config, seed=face.seed(config.seed, item.task.sample_id)) \
                if method.seeded else config
            new[(id(item), face.index)] = method.paint(item.pixels, face.paste, face.size, params)
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
