"""``anonymize_dataset`` (`ldfa run`): import, detect, anonymize, export and verify in one
resumable command: the engine's stages end to end, with the source format's round trip
(``ldfa.converters``) at both ends."""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

from ldfa.converters.export import export_anonymized, prepare
from ldfa.converters.folder import videos_of
from ldfa.converters.formats import detect_format, import_dataset, source_tree
from ldfa.converters.verify import verify_export
from ldfa.plugin.anonymization.anonymize import source_root
from ldfa.plugin.anonymization.config import DEFAULT_MODEL, AnonymizationConfig
from ldfa.plugin.deprecation import renamed
from ldfa.plugin.detection.detect import detect_faces
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.errors import ModelUnavailableError, OutputError
from ldfa.plugin.guard.config import GuardStep
from ldfa.plugin.guard.step import anonymize_then_guard
from ldfa.plugin.io.folders import dataset_for_command
from ldfa.plugin.io.output import refuse_inside
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import run_config
from ldfa.plugin.schema import DETECT, FACES, anonymized_field, run_key

# What decides the faces found (every DetectorConfig field but how fast it runs, and the people
# looked at); a rerun that asks for other values detects again.
_DETECTION_KEYS = (*(f.name for f in fields(DetectorConfig) if f.name not in ("batch_size", "device")),
                   "people_fields")


@renamed(detector=("detection", lambda name: {"detector": name} if name else None))
def anonymize_dataset(fmt: str | None, source: str | Path, output: str | Path, method: str = "ldfa",
                      dataset_name: str | None = None, annotations: str | None = None,
                      images: str | None = None, detection: dict | None = None,
                      use_people: bool = True, overwrite: bool = False,
                      progress: ProgressArg = True, engine: str | dict | EngineConfig = "local",
                      identity_guard: int = GuardStep.identity_guard, **params) -> dict:
    """The whole job on a dataset folder; a rerun after an interruption picks up where it stopped.

    ``fmt`` is ``cityscapes``, ``coco``, ``folder`` (a plain folder of images) or None to
    detect it (``detect_format``). Nothing is written (no dataset, no output folder) when the
    diffusion model a local run needs is missing: never another method in its place.
    ``detection`` holds :class:`DetectorConfig` fields by name (default: its defaults);
    ``params`` any field of :class:`AnonymizationConfig` or its ``DiffusionConfig``; detection
    and anonymization run on ``engine`` (import, export and verification here), and so does the
    identity guard between anonymizing and exporting when ``identity_guard`` gives it tries
    (``ldfa.guard_identity``: faces still recognisable are redone, then tagged). Every option
    is checked before any work, the output's place first. With ``use_people`` (the
    default), face detection also looks at the head of every person the source's annotations
    mark (Cityscapes polygons and CityPersons boxes, COCO persons with keypoints), so a face the
    detector alone misses is found all the same. A rerun that asks for other detection settings
    than the dataset was detected with is refused unless ``overwrite``, which detects, anonymizes
    and exports again."""
    output = Path(output).expanduser().resolve()
    fmt = fmt or detect_format(source, annotations)
    root = source_tree(fmt, source, annotations, images)
    only = Path(source).expanduser().resolve() if fmt == "folder" and Path(source).expanduser().is_file() else None
    refuse_inside(only or root, output)
    config = AnonymizationConfig.build(method=method, **params)
    detection = DetectorConfig.build(**(detection or {}))
    engine = EngineConfig.of(engine)
    if config.uses_diffusion and engine.engine == "local":
        _require_model(config.diffusion.model)
    name = dataset_name or f"ldfa-{fmt}-{only.stem if only else Path(source).resolve().name}"
    with dataset_for_command(name, create=True) as dataset:  # a failed import leaves no dataset
        imported = import_dataset(fmt, source, dataset, annotations, images, progress)
    people = dataset.info["ldfa_source"].get("people_fields") if use_people else []
    field = anonymized_field(method)
    collections = [c for c in (dataset, videos_of(dataset)) if c is not None and len(c)]
    redo = {c.name: _detection_changed(c, detection, [] if c is not dataset else people or [], overwrite)
            for c in collections}
    prepare(dataset, field, output, overwrite or any(redo.values()))  # refuse an unsafe output before any work
    detected = [_detect(c, redo[c.name], people if c is dataset else [], detection, progress, engine)
                for c in collections]
    anonymized = []
    for collection in collections:
        if redo[collection.name] and collection.has_field(field):  # new faces: anonymized again
            collection.exists(field).set_field(field, None).save()
        anonymized.append(anonymize_then_guard(
            collection, identity_guard=identity_guard if collection.media_type == "image" else 0,
            field=field, progress=progress, overwrite=overwrite or redo[collection.name],
            output_dir=_anonymized_in(collection, root, output, only, name, field),
            engine=engine,
            **config.to_dict()).to_dict())
    exported = export_anonymized(dataset, field, output, progress=progress)
    verified = verify_export(root, output, progress=progress)
    return {"format": fmt, "source": str(root), "output": str(output),
            "manifest": exported["manifest"], "ok": verified["ok"], "dataset": name,
            "imported": imported, "detected": _joined(detected), "anonymized": _joined(anonymized),
            "exported": exported, "verified": verified}


def _anonymized_in(collection, root: Path, output: Path, only, name: str, field: str) -> Path:
    """Where a collection's anonymized files are made: in the output, mirroring the tree (the
    export finds them in place), or in the work folder (the export copies them out) for a single
    file and for a collection holding files outside the tree (an animated GIF's sample plays the
    MP4 made from it)."""
    within = source_root(collection)
    if only or not within.is_relative_to(root):
        return _work_folder(name, field)
    return output / within.relative_to(root)


def _work_folder(name: str, field: str) -> Path:
    """Where a single file's anonymized version is made before the export copies it out: not
    beside the file, where an output would lie in a folder of originals (``anonymize_faces``
    refuses that), but in FiftyOne's own folder for the media it makes."""
    import fiftyone as fo

    return Path(fo.config.default_dataset_dir) / "ldfa" / name / field


def _detect(collection, redo: bool, people: list, detection: DetectorConfig, progress, engine) -> dict:
    """Faces of the collection's samples not detected yet (all of them when settings changed)."""
    todo = collection if redo else _undetected(collection)
    if not len(todo):
        return {"images": 0, "already_detected": len(collection), "media": collection.media_type}
    detected = detect_faces(todo, people_field=people, progress=progress, engine=engine,
                            **asdict(detection)).to_dict()
    detected.pop("per_image")
    return {**detected, "media": collection.media_type}


def _undetected(collection):
    """Samples whose faces were never detected, or whose detection failed (a video: any frame)."""
    if collection.media_type != "video":
        return collection.exists(FACES, False)
    if not collection.has_field(f"frames.{FACES}"):
        return collection
    ids, frames = collection.values(["id", f"frames.{FACES}"])
    return collection.select([i for i, faces in zip(ids, frames) if not faces or None in faces])


def _joined(results: list[dict]) -> dict:
    """The images' and the videos' summaries of one stage as one: counts added and failures
    joined, the videos' own summary under ``videos``."""
    if len(results) < 2:
        return results[0] if results else {"images": 0, "already_detected": 0}
    images, videos = results
    joined = dict(images)
    for key, value in videos.items():
        if isinstance(value, (int, list)) and type(joined.get(key)) is type(value):
            joined[key] += value  # counts added, lists (failures) joined
    joined["videos"] = videos
    return joined


def _require_model(model: str) -> None:
    """Stop before any write when LDFA's weights are missing, naming both ways on: a run that
    quietly used another method would hand back faces anonymized less than asked."""
    from ldfa.plugin.anonymization.diffusion import model_available

    available, why = model_available(model)
    if available:
        return
    if "hf download" not in why:
        why += f"; fetch the default one with `hf download {DEFAULT_MODEL}`"
    raise ModelUnavailableError(f"method ldfa cannot run: {why}; or choose --method gauss, "
                                "pixelate or solid, which need no model")


def _detection_changed(dataset, detection: DetectorConfig, people: list, overwrite: bool) -> bool:
    """Whether the dataset's faces were found with other settings than these, refusing a silent
    mix of old faces and new settings unless ``overwrite``."""
    previous = run_config(dataset, run_key(DETECT, FACES))
    if previous is None:
        return False
    wanted = {**asdict(detection), "people_fields": people}
    changed = {k: (previous.get(k), wanted[k]) for k in _DETECTION_KEYS
               if previous.get(k, wanted[k]) != wanted[k]}
    if changed and not overwrite:
        said = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items())
        raise OutputError(f"dataset '{dataset.name}' was detected with other settings ({said}); "
                          "pass --overwrite to detect, anonymize and export again with the new ones")
    return bool(changed)
