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
from ldfa.plugin.detection.plates import detect_plates
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.errors import ModelUnavailableError, OutputError
from ldfa.plugin.guard.config import GuardStep
from ldfa.plugin.guard.step import anonymize_then_guard
from ldfa.plugin.io.folders import dataset_for_command
from ldfa.plugin.io.output import refuse_inside
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.plates import PlateDetectorConfig
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import run_config
from ldfa.plugin.schema import DETECT, FACES, PLATES, anonymized_field, run_key

# What decides the faces found (every DetectorConfig field but how fast it runs, and the people
# looked at) and the plates found; a rerun that asks for other values detects again.
_DETECTION_KEYS = (*(f.name for f in fields(DetectorConfig) if f.name not in ("batch_size", "device")),
                   "people_fields")
_PLATE_KEYS = (*(f.name for f in fields(PlateDetectorConfig) if f.name != "device"), "plates_labels")


@renamed(detector=("detection", lambda name: {"detector": name} if name else None))
def anonymize_dataset(fmt: str | None, source: str | Path, output: str | Path, method: str = "ldfa",
                      dataset_name: str | None = None, annotations: str | None = None,
                      images: str | None = None, detection: dict | None = None,
                      use_people: bool = True, overwrite: bool = False,
                      progress: ProgressArg = True, engine: str | dict | EngineConfig = "local",
                      identity_guard: int = GuardStep.identity_guard, plates: bool = False,
                      plate_detection: dict | None = None, **params) -> dict:
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
    and exports again. With ``plates``, licence plates are detected too (``plate_detection``
    holds :class:`PlateDetectorConfig` fields by name; Cityscapes' own plate polygons count) and
    replaced in the same pass."""
    output = Path(output).expanduser().resolve()
    fmt = fmt or detect_format(source, annotations)
    root = source_tree(fmt, source, annotations, images)
    only = Path(source).expanduser().resolve() if fmt == "folder" and Path(source).expanduser().is_file() else None
    refuse_inside(only or root, output)
    config = AnonymizationConfig.build(method=method, **params)
    detection = DetectorConfig.build(**(detection or {}))
    plate_config = PlateDetectorConfig.build(**(plate_detection or {})) if plates else None
    engine = EngineConfig.of(engine)
    if config.uses_diffusion and engine.engine == "local":
        _require_model(config.diffusion.model)
    name = dataset_name or f"ldfa-{fmt}-{only.stem if only else Path(source).resolve().name}"
    with dataset_for_command(name, create=True) as dataset:  # a failed import leaves no dataset
        imported = import_dataset(fmt, source, dataset, annotations, images, progress)
    people = dataset.info["ldfa_source"].get("people_fields") if use_people else []
    field = anonymized_field(method)
    collections = [c for c in (dataset, videos_of(dataset)) if c is not None and len(c)]
    plate_labels = dataset.info["ldfa_source"].get("plates_fields") or []

    def wanted(collection) -> dict[str, dict]:
        """What decides each kind of region found in ``collection``: its detector's settings and
        the labels it looks at (the videos' dataset has none)."""
        own = collection is dataset
        kinds = {FACES: {**asdict(detection), "people_fields": (people or []) if own else []}}
        if plates:
            kinds[PLATES] = {**asdict(plate_config), "plates_labels": plate_labels if own else []}
        return kinds

    settings = {c.name: wanted(c) for c in collections}
    redo = {c.name: {f: _detection_changed(c, f, w, overwrite) for f, w in settings[c.name].items()}
            for c in collections}
    # refuse an unsafe output before any work
    prepare(dataset, field, output, overwrite or any(any(r.values()) for r in redo.values()))
    detected = [_detect(c, FACES, redo[c.name][FACES], detect_faces, progress, engine, **asdict(detection),
                        people_field=settings[c.name][FACES]["people_fields"]) for c in collections]
    plates_found = [_detect(c, PLATES, redo[c.name][PLATES], detect_plates, progress, engine, **asdict(plate_config),
                            plates_labels=settings[c.name][PLATES]["plates_labels"])
                    for c in collections] if plates else []
    anonymized = []
    for collection in collections:
        changed = any(redo[collection.name].values())
        if changed and collection.has_field(field):  # new faces or plates: anonymized again
            collection.exists(field).set_field(field, None).save()
        anonymized.append(anonymize_then_guard(
            collection, identity_guard=identity_guard if collection.media_type == "image" else 0,
            field=field, progress=progress, overwrite=overwrite or changed,
            output_dir=_anonymized_in(collection, root, output, only, name, field),
            engine=engine,
            **config.to_dict()).to_dict())
    exported = export_anonymized(dataset, field, output, progress=progress)
    verified = verify_export(root, output, progress=progress)
    return {"format": fmt, "source": str(root), "output": str(output),
            "manifest": exported["manifest"], "ok": verified["ok"], "dataset": name,
            "imported": imported, "detected": _joined(detected), "anonymized": _joined(anonymized),
            "exported": exported, "verified": verified} | ({"plates": _joined(plates_found)} if plates else {})


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


def _detect(collection, label_field: str, redo: bool, find, progress, engine, **params) -> dict:
    """The faces (``find``: ``detect_faces``) or plates (``detect_plates``) of the collection's
    samples not detected yet, all of them when settings changed."""
    todo = collection if redo else _undetected(collection, label_field)
    if not len(todo):
        return {"images": 0, "already_detected": len(collection), "media": collection.media_type}
    detected = find(todo, progress=progress, engine=engine, **params).to_dict()
    detected.pop("per_image")
    return {**detected, "media": collection.media_type}


def _undetected(collection, label_field: str):
    """Samples whose ``label_field`` was never detected, or whose detection failed (a video: any frame)."""
    if collection.media_type != "video":
        return collection.exists(label_field, False)
    if not collection.has_field(f"frames.{label_field}"):
        return collection
    ids, frames = collection.values(["id", f"frames.{label_field}"])
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
        elif key not in joined:  # the images were all done before: the videos' figures alone
            joined[key] = value
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


def _detection_changed(dataset, label_field: str, wanted: dict, overwrite: bool) -> bool:
    """Whether the dataset's faces (``label_field`` plates: its plates) were found with other
    settings than ``wanted``, refusing a silent mix of old regions and new settings unless
    ``overwrite``."""
    previous = run_config(dataset, run_key(DETECT, label_field))
    if previous is None:
        return False
    keys = _PLATE_KEYS if label_field == PLATES else _DETECTION_KEYS
    changed = {k: (previous.get(k), wanted[k]) for k in keys if previous.get(k, wanted[k]) != wanted[k]}
    if changed and not overwrite:
        said = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items())
        raise OutputError(f"dataset '{dataset.name}' was detected with other settings ({said}); "
                          "pass --overwrite to detect, anonymize and export again with the new ones")
    return bool(changed)
