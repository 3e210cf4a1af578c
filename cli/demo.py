"""``ldfa demo``: the whole product on real photos, offline: detect, anonymize, measure, show."""

from __future__ import annotations

import sys
from pathlib import Path

from ldfa.cli.output import emit

DATASET = "ldfa-demo"


def add_parser(sub):
    p = sub.add_parser("demo", help="run ldfa end to end on packaged sample photos and open the App",
                       description="Build the dataset 'ldfa-demo' from public-domain photos that "
                       "ship with installed packages (plus --images DIR), detect faces, anonymize "
                       "them with every method, measure identity distance and detection mAP, "
                       "write the report and open the FiftyOne App on the side-by-side audit.")
    p.add_argument("--images", metavar="DIR", help="also add the images below DIR")
    p.add_argument("--output", default="ldfa-output/demo", metavar="DIR",
                   help="where the demo writes photos and results (default: %(default)s)")
    p.add_argument("--model", default=None,
                   help="diffusion model for the ldfa method (default: the LDFA model id)")
    p.add_argument("--no-app", action="store_true", help="do not open the App (for scripts)")
    p.add_argument("--port", type=int, default=5151, help="App port (default: %(default)s)")
    p.set_defaults(run=run)


def run(args) -> int:
    import fiftyone as fo

    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.io.folders import add_image_folder
    from ldfa.plugin.io.sample_photos import write_sample_photos

    output = Path(args.output).resolve()
    photos = write_sample_photos(output / "photos")
    dataset = fo.Dataset(DATASET, overwrite=True, persistent=True)
    add_image_folder(dataset, photos[0].parent)
    if args.images:
        add_image_folder(dataset, args.images)
    print(f"dataset '{DATASET}': {len(dataset)} images")

    print(detect_faces(dataset, progress=True))
    for summary in anonymize(dataset, output, args.model):
        print(summary)

    from ldfa.operators.layout import audit_spaces
    from ldfa.plugin.audit.dataset import open_audit
    from ldfa.plugin.metrics.report import comparison_table, size_table, to_markdown, write_report

    rows = comparison_table(dataset, progress=True)  # identity distance and detection mAP per method
    by_size = size_table(dataset, rows)
    paths = write_report(dataset, output / "report", rows=rows, by_size=by_size)
    audit = open_audit(dataset)  # saved review views + the grouped side-by-side dataset
    emit(None, False, f"{to_markdown(rows, dataset.name, by_size)}\n"
         f"report: {paths['markdown']} (CSV and plots beside it); saved views: "
         f"{', '.join(dataset.list_saved_views())}; side-by-side dataset: '{audit.name}'")

    if args.no_app:
        return 0
    ensure_plugin()
    session = fo.launch_app(audit, spaces=audit_spaces(), port=args.port, auto=False)
    print(f"App: {session.url}  (the audit panel is on the right; open an image and its "
          "'Side by side' tab to compare versions; Ctrl-C to stop)")
    session.wait(-1)
    return 0


def ensure_plugin() -> None:
    """The App shows ldfa's panels only if FiftyOne finds the plugin: link it, saying so."""
    import fiftyone as fo

    from ldfa.cli.plugin import install
    from ldfa.plugin.errors import LdfaError

    plugins_dir = Path(fo.config.plugins_dir).expanduser()
    try:
        if install(plugins_dir):
            print(f"linked @ldfa/anonymization into FiftyOne's plugins folder {plugins_dir} "
                  "(`ldfa plugin uninstall` removes it)")
    except LdfaError as e:
        print(f"the App will lack ldfa's panels: {e}")


def anonymize(dataset, output: Path, model: str | None):
    """LDFA when its model can be had without a download, else the classic methods (said in
    one line); each method writes its own field and folder."""
    from ldfa.plugin.anonymization.anonymize import anonymize_faces
    from ldfa.plugin.anonymization.config import AnonymizationConfig
    from ldfa.plugin.anonymization.diffusion import model_available
    from ldfa.plugin.anonymization.methods import METHODS

    model = model or AnonymizationConfig().model
    available, why = model_available(model)
    methods = list(METHODS) if available else [m for m in METHODS if m != "ldfa"]
    if not available:
        print(f"ldfa method skipped: {why}; running the classic methods", file=sys.stderr)
    for method in methods:
        params = {"model": model} if method == "ldfa" else {}
        yield anonymize_faces(dataset, method=method, output_dir=output / f"anon_{method}",
                              overwrite=True, progress=True, **params)
