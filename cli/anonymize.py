"""``ldfa anonymize``: write an anonymized copy of a dataset's images (new files only)."""

from __future__ import annotations

from ldfa.cli.options import add_options, given
from ldfa.cli.output import emit
from ldfa.plugin.anonymization.config import PRESETS, PRESETS_HELP, AnonymizationConfig, DiffusionConfig
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.guard.config import GuardStep
from ldfa.plugin.schema import FACES, PLATES


def add_parser(sub):
    p = sub.add_parser("anonymize", help="replace every detected face (new image files)",
                       description="Anonymize the faces of a dataset (run `ldfa detect` first). "
                       "New images mirror the source tree under --output-dir; originals are "
                       "never written. Rerunning the same command resumes.")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset name")
    p.add_argument("--field", help="string field for the new paths (default: anon_<method>)")
    p.add_argument("--output-dir", help="folder mirroring the source tree (default: <source>-<field>)")
    p.add_argument("--faces-field", default=FACES, help=f"Detections field with the faces (default: {FACES})")
    p.add_argument("--plates-field", default=PLATES, help="Detections field with the licence plates, "
                   f"replaced too when the dataset has it (default: {PLATES}; `ldfa detect --plates`)")
    p.add_argument("--preset", choices=list(PRESETS), help=PRESETS_HELP)
    add_anonymization_options(p)
    add_options(p, EngineConfig, group="engine")
    p.add_argument("--overwrite", action="store_true",
                   help="replace results of another configuration in --field")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(run=run)


def add_anonymization_options(parser) -> None:
    """The options of an anonymization run and the guard after it, in three groups (shared with
    ``ldfa run``)."""
    add_options(parser, AnonymizationConfig, group="anonymization")
    add_options(parser, DiffusionConfig, group="diffusion (method ldfa)")
    add_options(parser, GuardStep, group="identity guard")


def anonymization_params(args) -> dict:
    """The anonymization options the user gave, by config field name."""
    return given(args, AnonymizationConfig, DiffusionConfig)


def guard_lines(guard: dict | None) -> list[str]:
    """What the identity guard did, for the terminal (nothing when it did not run)."""
    if not guard:
        return []
    return [f"identity guard: {guard['redone']} re-anonymizations; {len(guard['needs_review'])} of "
            f"{guard['checked']} faces still recognisable, tagged needs_review"]


def run(args) -> int:
    from ldfa.plugin.guard.step import anonymize_then_guard
    from ldfa.plugin.io.folders import open_dataset

    dataset = open_dataset(args.dataset)
    summary = anonymize_then_guard(dataset, faces_field=args.faces_field, plates_field=args.plates_field,
                                   field=args.field,
                                   output_dir=args.output_dir, overwrite=args.overwrite,
                                   preset=args.preset, progress=not args.json,
                                   engine=given(args, EngineConfig), **given(args, GuardStep),
                                   **anonymization_params(args))
    emit(summary.to_dict(), args.json, "\n".join([str(summary), *guard_lines(summary.identity_guard)]))
    return 1 if summary.images and summary.failed == summary.images else 0
