"""``ldfa report``: the comparison table of every anonymized field, with plots."""

from __future__ import annotations

from ldfa.cli.output import emit
from ldfa.plugin.models.detector.config import BACKEND_NAMES
from ldfa.plugin.models.embedders import DEFAULT_EMBEDDERS


def add_parser(sub):
    p = sub.add_parser("report", help="compare all anonymized fields (Markdown, CSV, PNG)",
                       description="One row per anonymized field plus the untouched originals: "
                       "faces, mAP (all/small/medium/large), AP50, residual similarity, identity "
                       "distance, re-identification rate and share within threshold per embedder, "
                       "then the same by face size; refreshes the saved review views (riskiest, "
                       "lost, small faces, uncertain faces, failed).")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset name")
    p.add_argument("--output", required=True, metavar="DIR", help="folder for report.md/.csv/.png")
    p.add_argument("--faces-field", help="Detections field with the original faces (default: the "
                   "one the anonymizations used)")
    p.add_argument("--gt-field", help="ground-truth Detections for mAP (default: --faces-field)")
    p.add_argument("--fields", nargs="+", help="anonymized fields (default: all of the dataset)")
    p.add_argument("--embedders", nargs="+", choices=DEFAULT_EMBEDDERS, default=list(DEFAULT_EMBEDDERS),
                   help="identity models to measure with (default: both)")
    p.add_argument("--detector", choices=list(BACKEND_NAMES), help="detector for the mAP columns")
    p.add_argument("--recompute", action="store_true", help="redo measurements already stored")
    p.add_argument("--json", action="store_true", help="print the table as JSON on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ldfa.plugin.audit.views import save_audit_views
    from ldfa.plugin.io.folders import open_dataset
    from ldfa.plugin.metrics.report import comparison_table, size_table, to_markdown, write_report

    dataset = open_dataset(args.dataset)
    rows = comparison_table(dataset, faces_field=args.faces_field, gt_field=args.gt_field,
                            fields=args.fields, embedders=args.embedders, detector=args.detector,
                            recompute=args.recompute, progress=not args.json)
    by_size = size_table(dataset, rows)
    paths = write_report(dataset, args.output, rows=rows, faces_field=args.faces_field, by_size=by_size)
    views = save_audit_views(dataset, faces_field=args.faces_field)
    text = "\n".join([to_markdown(rows, dataset.name, by_size),
                      "wrote " + ", ".join(str(p) for p in paths.values()),
                      "saved views for review in the App: " + ", ".join(views)])
    emit({"dataset": dataset.name, "rows": rows, "rows_by_size": by_size, "saved_views": views,
          "files": {k: str(v) for k, v in paths.items()}}, args.json, text)
    return 0
