"""``anonymize_faces``: write an anonymized copy of every image of a collection, face by face.

The source tree is mirrored under ``output_dir``; originals are only ever read. Every face of
``faces_field`` is replaced whole by the chosen method (``ldfa`` diffusion, or a classic
``gauss`` / ``pixelate`` / ``solid``), blending into its surroundings in a ring outside the face
(``ldfa.plugin.masks``). Every face gets the method, however small; the ``fallback`` method is
used only where the method cannot run (diffusion failing on a batch) or, if asked, for faces
below ``min_face_px``, and each such face records why. Facts per face go on the face detections (``<out_field>_seed``,
``_method``, ``_skipped``, ``_attempt``), the new path on ``out_field`` (an App media field), the
full config in the FiftyOne run ``ldfa_anonymize_<out_field>``. A rerun with the same config
resumes; another config on the same field needs ``overwrite=True`` or a new field.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import fiftyone as fo
import numpy as np
from bson import ObjectId
from fiftyone import ViewField as F

from ldfa.plugin import failures
from ldfa.plugin.anonymization_config import AnonymizationConfig
from ldfa.plugin.diffusion import FaceJob
from ldfa.plugin.errors import ConfigError, ImageError, OutputError
from ldfa.plugin.images import read_rgb
from ldfa.plugin.masks import blend_weights, face_region, face_shape, paste_region
from ldfa.plugin.methods import CLASSIC, CLASSIC_PARAMS
from ldfa.plugin.output import compose, copy_atomic, output_path, save_atomic
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import record_run, run_config, run_key, versions

IMAGES_PER_CHUNK = 8  # images whose faces are gathered into one round of diffusion batches


@dataclass
class AnonymizationSummary:
    """What an anonymization run did."""

    out_field: str
    method: str
    images: int = 0
    written: int = 0
    resumed: int = 0  # already done by an earlier run with the same config
    unchanged: int = 0  # no faces: copied (or linked) as they are
    faces: int = 0
    methods_applied: dict[str, int] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
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
                 f"({applied}) -> field '{self.out_field}'"]
        lines += [f"  failed: {f['filepath']}: {f['error']}" for f in self.failures]
        return "\n".join(lines)


def face_seed(run_seed: int, sample_id: str, face_index: int, attempt: int) -> int:
    """A stable 63-bit seed per face: reruns reproduce it, a new attempt changes it."""
    text = f"{run_seed}:{sample_id}:{face_index}:{attempt}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


def anonymize_faces(
    collection: fo.core.collections.SampleCollection,
    method: str = "ldfa",
    faces_field: str = "faces",
    out_field: str | None = None,
    output_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: ProgressArg = True,
    preset: str | None = None,
    identity_guard: int = 0,
    **params,
) -> AnonymizationSummary:
    """Anonymize every face of ``faces_field`` and store each new image's path in ``out_field``.

    Args:
        collection: a dataset or view whose samples have ``faces_field`` (``ldfa.detect_faces``)
        method: ``ldfa`` (latent diffusion), ``gauss``, ``pixelate`` or ``solid``
        faces_field: the ``fo.Detections`` field with the faces
        out_field: the string field for the new paths; default ``anon_<method>``
        output_dir: folder that will mirror the source tree; default ``<source root>-<out_field>``
        overwrite: allow replacing results of another config in ``out_field``
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        preset: ``paper`` for the published LDFA procedure (explicit params still win)
        identity_guard: after the run, re-anonymize (new seed) faces still within FaceNet's
            same-person threshold, up to this many tries; faces that stay within it are
            tagged ``needs_review`` (0: off; see ``ldfa.guard_identity``)
        **params: any field of :class:`AnonymizationConfig` (``seed``, ``min_face_px``,
            ``num_inference_steps``, ``model``, ``mask_grow``, ...)
    """
    config = AnonymizationConfig.build(preset=preset, method=method, **params)
    out_field = out_field or f"anon_{method}"
    if not collection.has_field(faces_field):
        raise ConfigError(f"no field '{faces_field}': run `ldfa detect` (ldfa.detect_faces) first")
    root = source_root(collection._dataset)
    out_dir = _output_dir(output_dir, root, out_field)
    key = run_key("anonymize", out_field)
    previous = (run_config(collection, key) or {}).get("digest")
    if previous not in (None, config.digest()) and not overwrite:
        raise OutputError(f"field '{out_field}' holds results of another configuration; "
                          "pass a new out_field (--field) or overwrite=True (--overwrite)")
    inpainter = config.inpainter
    run = {"method": method, "faces_field": faces_field, "out_field": out_field,
           "output_dir": str(out_dir), "source_root": str(root), "digest": config.digest(),
           "config": config.to_dict(), "versions": versions("diffusers", "torch")}
    if config.uses_diffusion:
        pipe = inpainter.pipeline  # load now: a missing model must fail before any write
        run["device"], run["dtype"] = str(pipe.device), str(pipe.dtype).removeprefix("torch.")
    record_run(collection, key, run)
    _register_media_field(collection._dataset, out_field)
    _declare_face_facts(collection._dataset, faces_field, out_field)

    if previous not in (None, config.digest()):
        # Overwriting another config: forget its paths first, so that if this run is killed
        # a rerun does not take the old config's files for finished ones.
        collection.exists(out_field).set_field(out_field, None).save()
    summary = AnonymizationSummary(out_field, method)
    done = _finished(collection, out_field, out_dir) if previous == config.digest() else set()
    ids = collection.values("id")
    with Progress(len(ids), f"Anonymizing ({method})", progress) as bar:
        for start in range(0, len(ids), IMAGES_PER_CHUNK):
            chunk = collection.select(ids[start : start + IMAGES_PER_CHUNK], ordered=True)
            _anonymize_chunk(chunk, config, inpainter, faces_field, out_field, root, out_dir,
                             done, summary)
            bar.update(len(chunk))
    if identity_guard:
        from ldfa.plugin.guard import guard_identity  # loads the identity model: only when asked

        summary.identity_guard = guard_identity(collection, out_field, faces_field=faces_field,
                                                max_tries=identity_guard, progress=progress)
    record_run(collection, key, run, {"summary": summary.to_dict()})
    return summary


def source_root(dataset: fo.Dataset) -> Path:
    """The deepest folder holding every image of the dataset: the tree outputs mirror. Paths
    are taken as the dataset holds them: a symlinked image does not move the root to the
    folder its link points into."""
    folders = {os.path.dirname(os.path.abspath(p)) for p in dataset.distinct("filepath")}
    if not folders:
        raise ConfigError(f"dataset '{dataset.name}' has no samples")
    return Path(os.path.commonpath(sorted(folders)))


def _output_dir(output_dir, root: Path, out_field: str) -> Path:
    """The folder to mirror the tree into, checked: a folder (or nothing yet) outside the source
    tree, also once symlinks are followed."""
    out_dir = (Path(os.path.abspath(Path(output_dir).expanduser())) if output_dir
               else root.parent / f"{root.name}-{out_field}")
    for out, src in ((out_dir, root), (out_dir.resolve(), root.resolve())):
        if out == src or src in out.parents:
            raise OutputError(f"output_dir {out_dir} is inside the source tree {root}; "
                              "choose a folder outside it")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"output_dir {out_dir} is a file, not a folder; choose a folder")
    return out_dir


def _register_media_field(dataset: fo.Dataset, out_field: str) -> None:
    """Let the App switch its media between the originals and this field."""
    if not dataset.has_field(out_field):
        dataset.add_sample_field(out_field, fo.StringField)
    media = list(dataset.app_config.media_fields or ["filepath"])
    if out_field not in media:
        dataset.app_config.media_fields = media + [out_field]
        dataset.save()


# Per-face facts on each face detection: `<out_field>_<name>`.
_FACE_FACTS = {"seed": fo.IntField, "method": fo.StringField, "skipped": fo.StringField,
               "attempt": fo.IntField}


def _declare_face_facts(dataset: fo.Dataset, faces_field: str, out_field: str) -> None:
    """Declare the per-face facts in the schema, so the App can filter faces by them."""
    for name, kind in _FACE_FACTS.items():
        path = f"{faces_field}.detections.{out_field}_{name}"
        if not dataset.has_field(path):
            dataset.add_sample_field(path, kind)


def _finished(collection, out_field: str, out_dir: Path) -> set[str]:
    """Samples whose output of this same config exists in ``out_dir``: a rerun skips them
    (a rerun into another folder writes that folder complete)."""
    ids, paths = collection.exists(out_field).values(["id", out_field])
    return {i for i, p in zip(ids, paths) if p and Path(p).is_relative_to(out_dir) and os.path.exists(p)}


@dataclass
class _Face:
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
class _Image:
    sample: fo.Sample
    pixels: np.ndarray  # display orientation RGB the faces are computed from
    orientation: int
    target: Path
    faces: list[_Face]
    redo: set[int] | None = None  # face indices to recompute; None: all


def _plan(sample, pixels, config, faces_field, out_field, bump=frozenset()) -> list[_Face]:
    """Which method each face gets; attempts of faces in ``bump`` (detection ids) go up by one."""
    height, width = pixels.shape[:2]
    planned = []
    for index, det in enumerate(sample[faces_field].detections):
        region = face_region(width, height, det.bounding_box, config.mask_grow)
        paste = paste_region(region, config.mask_blur_px, width, height, config.mask_ellipse)
        shape = face_shape(region, paste, config.mask_ellipse)
        attempt = (det[f"{out_field}_attempt"] if det.has_field(f"{out_field}_attempt") else 0) or 0
        attempt += det.id in bump
        face = _Face(det, index, region, paste, shape, config.method, None, attempt)
        if face.size <= 0:
            face.method, face.skipped = None, "face box lies outside the image"
        elif face.size < config.min_face_px and config.fallback != config.method:
            face.method = config.fallback
            face.skipped = (f"face {face.size}px < min_face_px {config.min_face_px}: "
                            f"{config.fallback} instead of {config.method}")
        planned.append(face)
    return planned


def _render(items: list[_Image], config, inpainter) -> list[tuple[np.ndarray, np.ndarray]]:
    """New display pixels and the changed-pixel mask of each image; diffusion runs batched
    over the faces of all ``items`` together.

    Each face's new pixels are blended in through its weights (1 on the face, fading outside
    it); then every face is pasted once more, hard, so that a neighbour's blend ring crossing
    a face never brings its original back."""
    todo = [(item, face) for item in items for face in item.faces
            if face.method is not None and (item.redo is None or face.index in item.redo)]
    new = {(id(item), face.index): None for item, face in todo}
    diffused = [(item, face) for item, face in todo if face.method == "ldfa"]
    jobs = [FaceJob(item.pixels, face.paste, face.shape, face.seed(config.seed, item.sample.id))
            for item, face in diffused]
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


def _write(item: _Image, pixels: np.ndarray, mask: np.ndarray, config, faces_field: str,
           out_field: str) -> None:
    """Save the image atomically, then record each recomputed face's facts on its detection.

    The facts go through ``set_label_values`` because a document save drops None values, and
    ``<out_field>_skipped`` is None for every face that got the requested method."""
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
        just_this.set_label_values(f"{faces_field}.detections.{out_field}_{name}", values)


def _anonymize_chunk(chunk, config, inpainter, faces_field, out_field, root, out_dir, done, summary):
    """Anonymize one chunk of samples; failures are recorded and never stop the run."""
    items, reasons = [], {}
    for sample in chunk:
        summary.images += 1
        if sample.id in done:
            summary.resumed += 1
            continue
        target = output_path(sample.filepath, root, out_dir)
        try:
            faces = sample[faces_field]
            if faces is None:
                raise ImageError("no face detection for this image (its detection failed or never ran)")
            if not faces.detections:
                copy_atomic(sample.filepath, target, link=config.link_unchanged)
                summary.unchanged += 1
                sample[out_field] = str(target)
                reasons[sample.id] = None
                sample.save()
                continue
            pixels, info = read_rgb(sample.filepath)
        except (ImageError, OutputError) as e:
            reasons[sample.id] = str(e)
            summary.failures.append({"filepath": sample.filepath, "error": str(e)})
            continue
        plan = _plan(sample, pixels, config, faces_field, out_field)
        items.append(_Image(sample, pixels, info.orientation, target, plan))
    for item, (pixels, mask) in zip(items, _render(items, config, inpainter)):
        sample = item.sample
        try:
            _write(item, pixels, mask, config, faces_field, out_field)
        except ImageError as e:
            reasons[sample.id] = str(e)
            summary.failures.append({"filepath": sample.filepath, "error": str(e)})
            continue
        sample[out_field] = str(item.target)
        sample.save()  # the path is set only once its file is complete: a crash resumes here
        reasons[sample.id] = None
        summary.written += 1
        summary.count(item.faces)
    failures.record(chunk, out_field, reasons)


def reanonymize_faces(
    collection: fo.core.collections.SampleCollection,
    out_field: str,
    face_ids: list[str],
    progress: ProgressArg = True,
) -> AnonymizationSummary:
    """Give the faces ``face_ids`` a new seed (attempt + 1) and redo only them, in place.

    Starts from each sample's anonymized image, so every other face stays as it was, and uses
    the config recorded for ``out_field``. The identity guard and the App's review build on it.
    """
    run = run_config(collection, run_key("anonymize", out_field))
    if run is None:
        raise ConfigError(f"no anonymization run for field '{out_field}'")
    config = AnonymizationConfig.build(**run["config"])
    faces_field = run["faces_field"]
    wanted = set(face_ids)
    view = collection._dataset.filter_labels(
        faces_field, F("_id").is_in([ObjectId(i) for i in wanted]), only_matches=True)
    ids = view.values("id")
    summary = AnonymizationSummary(out_field, config.method)
    inpainter = config.inpainter
    with Progress(len(ids), "Re-anonymizing faces", progress) as bar:
        for sample_id in ids:
            sample = collection._dataset[sample_id]
            summary.images += 1
            try:
                pixels, info = read_rgb(sample[out_field])
            except (ImageError, TypeError) as e:
                summary.failures.append({"filepath": sample.filepath, "error": str(e)})
                continue
            plan = _plan(sample, pixels, config, faces_field, out_field, bump=wanted)
            redo = {f.index for f in plan if f.detection.id in wanted}
            item = _Image(sample, pixels, info.orientation, Path(sample[out_field]), plan, redo)
            [(new, mask)] = _render([item], config, inpainter)
            _write(item, new, mask, config, faces_field, out_field)
            sample.save()
            summary.written += 1
            summary.count(f for f in plan if f.index in redo)
            bar.update()
    return summary
