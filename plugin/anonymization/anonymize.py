"""``anonymize_faces``: write an anonymized copy of every image of a collection, face by face.

The source tree is mirrored under ``output_dir``; originals are only ever read. Every face of
``faces_field`` is replaced whole by the chosen method (``ldfa`` diffusion, or a classic
``gauss`` / ``pixelate`` / ``solid``), blending into its surroundings in a ring outside the face
(``ldfa.plugin.geometry.masks``). Every face gets the method, however small; the
``fallback`` method is used only where the method cannot run (diffusion failing on a batch) or, if asked, for faces
below ``min_face_px``, and each such face records why. Facts per face go on the face detections (``<field>_seed``,
``_method``, ``_skipped``, ``_attempt``), the new path on ``field`` (an App media field), the
full config in the FiftyOne run ``ldfa_anonymize_<field>``. A rerun with the same config
resumes; another config on the same field needs ``overwrite=True`` or a new field. The images
are anonymized by the core in ``faces.py`` on the run's engine (``ldfa.plugin.engines``): this
process, or the workers of a Ray cluster, with the same files and facts either way.
"""

from __future__ import annotations

import os
from pathlib import Path

import fiftyone as fo

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import AnonymizationSummary, ImageTask, load_painter
from ldfa.plugin.anonymization.records import anonymize_blocks, declare_face_facts, region_tasks
from ldfa.plugin.anonymization.video import VideoTask
from ldfa.plugin.deprecation import renamed
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.errors import ConfigError, OutputError
from ldfa.plugin.freshness import attempts_path, faces_path, stale_samples
from ldfa.plugin.io.output import output_path, refuse_inside
from ldfa.plugin.io.video import video_target
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import record_run, run_config, versions
from ldfa.plugin.schema import ANONYMIZE, FACES, PLATES, SEQUENCE, anonymized_field, face_fact, run_key


@renamed(out_field="field")
def anonymize_faces(
    collection: fo.core.collections.SampleCollection,
    method: str = "ldfa",
    faces_field: str = FACES,
    field: str | None = None,
    output_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: ProgressArg = True,
    preset: str | None = None,
    engine: str | dict | EngineConfig = "local",
    plates_field: str | None = PLATES,
    **params,
) -> AnonymizationSummary:
    """Anonymize every face of ``faces_field`` and store each new image's path in ``field``.

    When the collection has licence plates (``plates_field``, from ``ldfa.detect_plates``), they
    are replaced in the same pass, each grown by ``plate_grow`` and painted by the run's plate
    method; their facts go on the plate detections, and a plate that changes makes the image
    stale like a face does.

    Args:
        collection: a dataset or view whose samples have ``faces_field`` (``ldfa.detect_faces``)
        method: ``ldfa`` (latent diffusion), ``gauss``, ``pixelate`` or ``solid``
        faces_field: the ``fo.Detections`` field with the faces
        field: the string field for the new paths; default ``anon_<method>``
        output_dir: folder that will mirror the source tree; default ``<source root>-<field>``
        overwrite: allow replacing results of another config in ``field``
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        preset: ``paper`` for the published LDFA procedure, ``camouflage`` for it with face-mesh
            control and identity push-away (explicit params still win)
        engine: ``local`` (this process), ``ray``, or an :class:`EngineConfig` (or a dict of
            its fields); with Ray, sources and ``output_dir`` must be on storage every node sees
        plates_field: the ``fo.Detections`` field of licence plates, replaced when the
            collection has it; None replaces faces only
        **params: any field of :class:`AnonymizationConfig` or its ``DiffusionConfig``
            (``seed``, ``mask_grow``, ``num_inference_steps``, ``model``, ...)
    """
    config = AnonymizationConfig.build(preset=preset, method=method, **params)
    engine = EngineConfig.of(engine)
    field = field or anonymized_field(method)
    faces = faces_path(collection, faces_field)  # frames.<faces_field> in a video collection
    if not collection.has_field(faces):
        raise ConfigError(f"no field '{faces}': run `ldfa detect` (ldfa.detect_faces) first")
    plates = faces_path(collection, plates_field) if plates_field else None
    if plates and not collection.has_field(plates):
        plates_field = plates = None  # no plates detected: faces only
    folders = _image_folders(collection._dataset)
    root = Path(os.path.commonpath(sorted(folders)))
    out_dir = _output_dir(output_dir, collection._dataset.name, root, folders, field)
    key = run_key(ANONYMIZE, field)
    previous = (run_config(collection, key) or {}).get("digest")
    if previous not in (None, config.digest()) and not overwrite:
        raise OutputError(f"field '{field}' holds results of another configuration; "
                          "pass a new field (--field) or overwrite=True (--overwrite)")
    record = {"method": method, "faces_field": faces_field, "plates_field": plates_field, "field": field,
              "output_dir": str(out_dir), "source_root": str(root), "digest": config.digest(),
              "config": config.to_dict(), "engine": engine.engine,
              "versions": versions("diffusers", "torch")}
    if config.uses_diffusion and engine.engine == "local":
        pipe = load_painter(config).pipeline  # load now: a missing model fails before any write
        record["device"], record["dtype"] = str(pipe.device), str(pipe.dtype).removeprefix("torch.")
    record_run(collection, key, record)
    _register_media_field(collection._dataset, field)
    declare_face_facts(collection._dataset, faces, field, plates)

    if previous not in (None, config.digest()):
        # Overwriting another config: forget its paths first, so that if this run is killed
        # a rerun does not take the old config's files for finished ones.
        collection.exists(field).set_field(field, None).save()
    done = _finished(collection, field, out_dir, faces_field) if previous == config.digest() else set()
    summary = AnonymizationSummary(field, method, output_dir=str(out_dir))
    video = collection.media_type == "video"
    methods = collection.select(list(done)).values(f"{faces}.detections.{face_fact(field, 'method')}")
    if video:  # a video's faces, all its frames' together
        methods = [[m for frame in frames for m in frame or []] for frames in methods]
    summary.add_resumed(methods, plates=collection.select(list(done)).count(f"{plates}.detections") if plates else 0)
    ids = [i for i in collection.values("id") if i not in done]
    attempts = attempts_path(faces, field)
    paths = ["filepath", faces, attempts] + ([plates, attempts_path(plates, field)] if plates else [])
    sequences = not video and collection.has_field(SEQUENCE)

    def read(block_ids: list[str]) -> list:
        view = collection.select(block_ids, ordered=True)
        files, *regions = view.values(paths)
        regions = list(zip(*regions, *([[None] * len(block_ids)] * 2 if not plates else [])))
        if video:  # a face's track is keyed by its video
            return [VideoTask(i, p, str(video_target(output_path(p, root, out_dir), config.video_codec)),
                              _frame_tasks(i, *r)) for i, p, r in zip(block_ids, files, regions)]
        names = view.values(SEQUENCE) if sequences else [None] * len(block_ids)
        return [ImageTask(i, p, str(output_path(p, root, out_dir)), region_tasks(*r, tracks=name))
                for i, p, r, name in zip(block_ids, files, regions, names)]

    anonymize_blocks(collection, ids, read, config, engine, faces, field, summary,
                     f"Anonymizing ({method})", progress, plates_field=plates)
    record_run(collection, key, record, {"summary": summary.to_dict()})
    return summary


def _frame_tasks(sample_id: str, frames: list | None, attempts: list | None, plates: list | None,
                 plate_attempts: list | None) -> tuple | None:
    """A video's faces (then plates) per frame as tasks, tracks keyed by the video; None when
    any frame was never detected (a frame without faces still has its empty detections)."""
    if not frames or any(f is None for f in frames):
        return None
    none = [None] * len(frames)
    return tuple(region_tasks(*r, tracks=sample_id)
                 for r in zip(frames, attempts or none, plates or none, plate_attempts or none))


def source_root(dataset: fo.Dataset) -> Path:
    """The deepest folder holding every image of the dataset: the tree outputs mirror (each
    image goes to ``<output_dir>/<its path relative to this folder>``; images in unrelated
    folders, whose deepest common folder is ``/``, keep their whole path). Paths are taken as
    the dataset holds them: a symlinked image does not move the root to the folder its link
    points into."""
    return Path(os.path.commonpath(sorted(_image_folders(dataset))))


def _image_folders(dataset: fo.Dataset) -> set[str]:
    folders = {os.path.dirname(os.path.abspath(p)) for p in dataset.distinct("filepath")}
    if not folders:
        raise ConfigError(f"dataset '{dataset.name}' has no samples")
    return folders


def _output_dir(output_dir, name: str, root: Path, folders: set[str], field: str) -> Path:
    """The folder to mirror the tree into, checked: a folder (or nothing yet) that holds none of
    the dataset's images and lies in no folder that holds one, also once symlinks are followed.
    So no original is ever overwritten or re-imported as a source, wherever the images live."""
    if output_dir:
        out_dir = Path(os.path.abspath(Path(output_dir).expanduser()))
    elif root.parent == root:
        raise ConfigError(f"the images of '{name}' lie in unrelated folders (the only folder "
                          "holding them all is /): choose where outputs go (--output-dir)")
    else:
        out_dir = root.parent / f"{root.name}-{field}"
    for folder in sorted(folders):
        refuse_inside(Path(folder), out_dir, "output_dir", "the images' folder")
    return out_dir


def _register_media_field(dataset: fo.Dataset, field: str) -> None:
    """Let the App switch its media between the originals and this field."""
    if not dataset.has_field(field):
        dataset.add_sample_field(field, fo.StringField)
    media = list(dataset.app_config.media_fields or ["filepath"])
    if field not in media:
        dataset.app_config.media_fields = media + [field]
        dataset.save()


def _finished(collection, field: str, out_dir: Path, faces_field: str) -> set[str]:
    """Samples whose output of this same config exists in ``out_dir`` and was made from the faces
    they have now: a rerun skips them. A stale output (its faces changed since: re-detected,
    edited, added in review) is redone, and a rerun into another folder writes that folder whole."""
    ids, paths = collection.exists(field).values(["id", field])
    stale = set(stale_samples(collection, field, faces_field))
    return {i for i, p in zip(ids, paths)
            if i not in stale and p and Path(p).is_relative_to(out_dir) and os.path.exists(p)}
