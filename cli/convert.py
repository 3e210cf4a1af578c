"""``ldfa import | export | verify-export | run``: datasets and folders in and out in their own format."""

from __future__ import annotations

import argparse

from ldfa.cli.anonymize import add_anonymization_options, anonymization_params, guard_lines
from ldfa.cli.options import add_options, given
from ldfa.cli.output import emit
from ldfa.converters import FORMATS
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.guard.config import GuardStep
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.plates import PlateDetectorConfig

# Detection options `ldfa run` leaves to their defaults: their names are the anonymization's
# (--min-face-px, --batch-size), and one --device serves both stages.
_RUN_SKIPS_DETECTION = ("min_face_px", "batch_size", "device")


def add_parser(sub):
    p = sub.add_parser("import", help="import a Cityscapes root, a COCO folder or a folder of images into FiftyOne",
                       description="Read a dataset in place (nothing is copied) into a FiftyOne "
                       "dataset, with its annotations for viewing and its people for detection.")
    p.add_argument("format", choices=FORMATS, help="the source's format")
    p.add_argument("source", help="Cityscapes root, COCO images folder, or folder of images")
    p.add_argument("--annotations", help="COCO: the instances (or person_keypoints) JSON")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset to create or extend")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.set_defaults(run=run_import)

    p = sub.add_parser("export", help="export an anonymized field in the source format",
                       description="Write the source tree again with the anonymized images: every "
                       "annotation and extra file byte for byte, photos not in the dataset left out.")
    p.add_argument("--dataset", required=True, help="a dataset made by `ldfa import`")
    p.add_argument("--field", required=True, help="anonymized field, e.g. anon_ldfa")
    p.add_argument("--format", choices=FORMATS, help="must match the source (checked)")
    p.add_argument("--output", required=True, help="an empty folder outside the source tree")
    p.add_argument("--link", action="store_true", help="hard-link unchanged files instead of copying")
    p.add_argument("--faces-coco", action="store_true", help="COCO: also write the faces as ldfa_faces.json")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(run=run_export)

    p = sub.add_parser("verify-export", help="prove an export: same files, changes only in face masks",
                       description="Check an export against its source with the manifest beside "
                       "it; exit status 1 when a check fails.")
    p.add_argument("source", help="the source dataset folder")
    p.add_argument("export", help="the exported folder")
    p.add_argument("--json", action="store_true", help="print the checks as JSON on stdout")
    p.set_defaults(run=run_verify)

    p = sub.add_parser("run", help="anonymize a folder in one go: import, detect, anonymize, export, verify",
                       description="The whole job on a folder of images, a Cityscapes root or a COCO "
                       "folder: --output gets the same tree with every face anonymized and every "
                       "other file copied, a manifest beside it, and the result verified. Rerun "
                       "the same command after an interruption to resume; exit status 1 when "
                       "verification fails. Measuring the result (face models) is a separate step: "
                       "`ldfa evaluate`. Example: ldfa run photos --output photos-anon --method gauss")
    p.add_argument("source", metavar="SOURCE",
                   help="folder of images, Cityscapes root, or COCO images folder (with --annotations); "
                   "`ldfa run cityscapes|coco SOURCE` works too")
    p.add_argument("legacy_source", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--output", required=True, help="the export: an empty folder outside the source tree")
    p.add_argument("--format", choices=FORMATS,
                   help="the source's format (default: coco with --annotations, cityscapes for a root "
                   "holding leftImg8bit/, else folder)")
    p.add_argument("--annotations", help="COCO: the instances (or person_keypoints) JSON")
    p.add_argument("--dataset", help="dataset name (default: ldfa-<format>-<folder>)")
    p.add_argument("--no-people", action="store_true",
                   help="do not use the source's person annotations to find faces the detector missed")
    add_options(p, DetectorConfig, skip=_RUN_SKIPS_DETECTION, group="detection")
    p.add_argument("--plates", action="store_true",
                   help="licence plates too: detected, tracked and replaced whole like faces")
    add_options(p, PlateDetectorConfig, skip=("device",), group="licence plates (with --plates)")
    add_anonymization_options(p)
    add_options(p, EngineConfig, group="engine")
    p.add_argument("--overwrite", action="store_true",
                   help="detect, anonymize and export again when settings changed (or the output is not empty)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(run=run_pipeline)


def run_import(args) -> int:
    from ldfa.converters.formats import import_dataset, source_tree
    from ldfa.plugin.io.folders import dataset_for_command

    source_tree(args.format, args.source, args.annotations)  # check before making a dataset
    with dataset_for_command(args.dataset, create=True) as dataset:
        result = import_dataset(args.format, args.source, dataset, args.annotations, progress=not args.json)
    emit(result, args.json)
    return 0


def run_export(args) -> int:
    from ldfa.converters.export import export_anonymized, source_of
    from ldfa.plugin.errors import ConfigError
    from ldfa.plugin.io.folders import open_dataset

    dataset = open_dataset(args.dataset)
    if args.format and source_of(dataset)["format"] != args.format:
        raise ConfigError(f"dataset '{args.dataset}' came from {source_of(dataset)['format']}, not {args.format}")
    result = export_anonymized(dataset, args.field, args.output, link=args.link,
                               overwrite=args.overwrite, faces_coco=args.faces_coco,
                               progress=not args.json)
    emit(result, args.json, _export_text(result))
    return 0


def run_verify(args) -> int:
    from ldfa.converters.verify import verify_export

    result = verify_export(args.source, args.export, progress=not args.json)
    emit(result, args.json, _verify_text(result))
    return 0 if result["ok"] else 1


def _run_source(args) -> tuple[str | None, str]:
    """The format (None: detect it) and the source of ``ldfa run [FORMAT] SOURCE``."""
    from ldfa.plugin.errors import ConfigError

    if args.legacy_source is None:
        return args.format, args.source
    if args.source not in FORMATS:
        raise ConfigError(f"ldfa run takes one source folder, not {args.source!r} and "
                          f"{args.legacy_source!r}; to name the format use --format {'|'.join(FORMATS)}")
    if args.format not in (None, args.source):
        raise ConfigError(f"format {args.source} and --format {args.format} disagree; give one")
    return args.source, args.legacy_source


def run_pipeline(args) -> int:
    from ldfa.plugin.pipeline import anonymize_dataset

    fmt, source = _run_source(args)
    params = anonymization_params(args)
    detection = given(args, DetectorConfig, skip=_RUN_SKIPS_DETECTION)
    if "device" in params:
        detection["device"] = params["device"]
    result = anonymize_dataset(fmt, source, args.output, dataset_name=args.dataset,
                               annotations=args.annotations, detection=detection,
                               use_people=not args.no_people, overwrite=args.overwrite,
                               progress=not args.json, engine=given(args, EngineConfig),
                               plates=args.plates, plate_detection=_plate_detection(args, params),
                               **given(args, GuardStep), **params)
    detected, anonymized, plates = result["detected"], result["anonymized"], result.get("plates")
    text = "\n".join([
        f"source: {result['source']} ({result['format']}); dataset '{result['dataset']}': "
        f"{result['imported'].get('images', 0)} images"
        + (f", {result['imported']['videos']} videos" if result["imported"].get("videos") else "") + " imported",
        f"detected: {detected['faces']} faces in {_media(detected, 'images')} ("
        + (", ".join(f"{n} {s}" for s, n in detected["by_source"].items()) or "none") + ")"
        if detected["images"] else f"detected: all {_media(detected, 'already_detected')} already, same settings",
        *([_plates_text(plates)] if plates else []),
        f"anonymized: {anonymized['written']} written, {anonymized['resumed']} already done, "
        f"{anonymized['failed']} failed; {anonymized['faces']} faces"
        + (f", {anonymized['plates']} licence plates" if plates else ""),
        *guard_lines(anonymized["identity_guard"]), *_failed_lines(detected, anonymized, plates or {}),
        _export_text(result["exported"]), _verify_text(result["verified"]),
        f"output: {result['output']}", f"manifest: {result['manifest']}"])
    emit(result, args.json, text)
    failed_all = anonymized["images"] and anonymized["failed"] == anonymized["images"]
    return 1 if failed_all or not result["verified"]["ok"] else 0


def _media(summary: dict, key: str) -> str:
    """A stage's count of ``key`` in words: images, videos, or both (``ldfa run`` joins the two)."""
    videos = summary.get("videos")
    if videos:
        return f"{summary[key] - videos.get(key, 0)} images and {videos.get(key, 0)} videos"
    return f"{summary[key]} {'videos' if summary.get('media') == 'video' else 'images'}"


def _plate_detection(args, params: dict) -> dict:
    """The plate detector's options the user gave; one --device serves every stage."""
    detection = given(args, PlateDetectorConfig, skip=("device",))
    return detection | ({"device": params["device"]} if "device" in params else {})


def _plates_text(plates: dict) -> str:
    """The plate detection's line of ``ldfa run``'s summary."""
    if not plates["images"]:
        return f"plates: all {_media(plates, 'already_detected')} already looked at, same settings"
    sources = ", ".join(f"{n} {s}" for s, n in plates["by_source"].items()) or "none"
    return f"plates: {plates['faces']} licence plates in {_media(plates, 'images')} ({sources})"


def _failed_lines(detected: dict, anonymized: dict, plates: dict) -> list[str]:
    """One line per file that could not be anonymized, with its first reason (detection's, when
    the file could not even be read for faces)."""
    failed: dict[str, str] = {}
    for stage in (detected, plates, anonymized):
        for failure in stage.get("failures", []):
            failed.setdefault(failure["filepath"], failure["error"])
    return [f"  failed: {path}: {why}" for path, why in failed.items()]


def _export_text(result: dict) -> str:
    reasons: dict[str, int] = {}
    for item in result["skipped"]:
        reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
    videos = (f"{result['videos']} anonymized videos ({result['videos_without_faces']} without faces), "
              if result.get("videos") else "")
    lines = [f"exported to {result['output']}: {result['anonymized']} anonymized images, "
             f"{result['without_faces']} without faces, {videos}{result['copied']} other files copied "
             f"(manifest {result['manifest']})"]
    lines += [f"  left out: {n} x {reason}" for reason, n in reasons.items()]
    return "\n".join(lines)


def _verify_text(result: dict) -> str:
    lines = [f"verify-export: {'ok' if result['ok'] else 'FAILED'}"]
    lines += [f"  {'ok  ' if c['ok'] else 'FAIL'} {c['check']}: {c['value']} (rule: {c['rule']})"
              for c in result["checks"]]
    lines += [f"  problem: {p}" for p in result["problems"]]
    return "\n".join(lines)
