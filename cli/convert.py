"""``ldfa import | export | verify-export | run``: datasets in and out in their own format."""

from __future__ import annotations

import json
import sys

FORMATS = ("cityscapes", "coco")


def add_parser(sub):
    p = sub.add_parser("import", help="import a Cityscapes root or a COCO folder into FiftyOne")
    p.add_argument("format", choices=FORMATS)
    p.add_argument("source", help="Cityscapes root, or the COCO images folder")
    p.add_argument("--annotations", help="COCO: the instances JSON")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset to create or extend")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_import)

    p = sub.add_parser("export", help="export an anonymized field in the source format")
    p.add_argument("--dataset", required=True)
    p.add_argument("--field", required=True, help="anonymized field, e.g. anon_ldfa")
    p.add_argument("--format", choices=FORMATS, help="must match the source (checked)")
    p.add_argument("--output", required=True, help="an empty folder outside the source tree")
    p.add_argument("--link", action="store_true", help="hard-link unchanged files instead of copying")
    p.add_argument("--faces-coco", action="store_true", help="COCO: also write the faces as ldfa_faces.json")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_export)

    p = sub.add_parser("verify-export", help="prove an export: same files, changes only in face masks")
    p.add_argument("source", help="the source dataset folder")
    p.add_argument("export", help="the exported folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_verify)

    p = sub.add_parser("run", help="import, detect, anonymize, export and verify in one go (resumable)")
    p.add_argument("format", choices=FORMATS)
    p.add_argument("source", help="Cityscapes root, or the COCO images folder")
    p.add_argument("--output", required=True)
    p.add_argument("--method", default="ldfa", choices=("ldfa", "gauss", "pixelate", "solid"))
    p.add_argument("--annotations", help="COCO: the instances JSON")
    p.add_argument("--dataset", help="dataset name (default: ldfa-<format>-<folder>)")
    p.add_argument("--detector", help="face detector (default: centerface)")
    p.add_argument("--no-people", action="store_true",
                   help="do not use the source's person annotations to find faces the detector missed")
    p.add_argument("--model", help="ldfa: diffusion model (hub id, folder or .safetensors)")
    p.add_argument("--steps", type=int, dest="num_inference_steps")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_pipeline)


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    for key, value in result.items():
        print(f"{key}: {json.dumps(value, default=str) if isinstance(value, (dict, list)) else value}")


def run_import(args) -> int:
    from ldfa.converters.pipeline import import_dataset
    from ldfa.plugin.image_folders import open_dataset

    dataset = open_dataset(args.dataset, create=True)
    _print(import_dataset(args.format, args.source, dataset, args.annotations, progress=not args.json), args.json)
    return 0


def run_export(args) -> int:
    from ldfa.converters.export import export_anonymized, source_of
    from ldfa.plugin.errors import ConfigError
    from ldfa.plugin.image_folders import open_dataset

    dataset = open_dataset(args.dataset)
    if args.format and source_of(dataset)["format"] != args.format:
        raise ConfigError(f"dataset '{args.dataset}' came from {source_of(dataset)['format']}, not {args.format}")
    _print(export_anonymized(dataset, args.field, args.output, link=args.link, overwrite=args.overwrite,
                             faces_coco=args.faces_coco, progress=not args.json), args.json)
    return 0


def run_verify(args) -> int:
    from ldfa.converters.verify import verify_export

    result = verify_export(args.source, args.export, progress=not args.json)
    _print(result, args.json)
    if not result["ok"]:
        print(f"ldfa: export does not match the source ({len(result['problems'])} problems)", file=sys.stderr)
        return 1
    return 0


def run_pipeline(args) -> int:
    from ldfa.converters.pipeline import anonymize_dataset

    params = {k: getattr(args, k) for k in ("model", "num_inference_steps") if getattr(args, k) is not None}
    result = anonymize_dataset(args.format, args.source, args.output, method=args.method,
                               dataset_name=args.dataset, annotations=args.annotations,
                               detector=args.detector, use_people=not args.no_people,
                               overwrite=args.overwrite,
                               progress=not args.json, **params)
    _print(result, args.json)
    return 0 if result["verified"]["ok"] else 1
