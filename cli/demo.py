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
    p.add_argument("--port", type=int, default=None,
                   help="App port (default: FiftyOne's default_app_port, 5151 unless configured)")
    p.set_defaults(run=run)


def run(args) -> int:
    import fiftyone as fo

    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.io.folders import add_image_folder
    from ldfa.plugin.io.sample_photos import write_sample_photos

    output = Path(args.output).resolve()
    photos = write_sample_photos(output / "photos")[0].parent
    if args.images:
        # Your photos join the packaged ones as photos/<folder name>, a link to the folder (read
        # through, never written): the outputs then mirror them as anon_<method>/<folder name>/...
        yours = link_folder(Path(args.images), photos)
    dataset = fo.Dataset(DATASET, overwrite=True, persistent=True)
    add_image_folder(dataset, photos)
    if args.images:
        add_image_folder(dataset, yours)  # rglob does not enter links: the folder is added itself
    detected = detect_faces(dataset, progress=True)
    lines = [f"dataset '{DATASET}': {len(dataset)} images, {detected.faces} faces"
             + (f" (yours: {shown(yours)})" if args.images else "")]
    summaries = list(anonymize(dataset, output, args.model))

    from ldfa.plugin.audit.dataset import open_audit
    from ldfa.plugin.metrics.report import comparison_table, size_table, write_report

    rows = comparison_table(dataset, progress=True)  # identity distance and detection mAP per method
    paths = write_report(dataset, output / "report", rows=rows, by_size=size_table(dataset, rows))
    audit = open_audit(dataset)  # saved review views + the grouped side-by-side dataset
    measured = {row["field"]: row for row in rows}
    lines += [short_summary(summary, measured.get(summary.field, {})) for summary in summaries]
    lines += [f"report: {shown(paths['markdown'])}", "  (every figure, by face size; CSV and plots beside it)",
              f"audit: dataset '{audit.name}', {len(dataset.list_saved_views())} saved review views"]
    emit(None, False, "\n".join(lines))  # results on stdout, progress and messages on stderr

    if args.no_app:
        return 0
    ensure_plugin()
    from ldfa.operators.launch import launch_audit

    launch_audit(audit, port=args.port, auto=False, announce=lambda url: emit(  # returns on Ctrl-C
        None, False, f"App: {url}\n  (the audit panel is on the right; open an image and its\n"
        "  'Side by side' tab to compare versions; Ctrl-C to stop)"))
    return 0


def link_folder(folder: Path, photos: Path) -> Path:
    """``folder`` linked into the demo's photo folder under its own name; checked first."""
    from ldfa.plugin.errors import ConfigError

    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    link = photos / (folder.name or "images")
    if link.is_symlink() or link.exists():
        if link.is_symlink() and link.resolve() == folder:
            return link
        link.unlink()
    link.symlink_to(folder, target_is_directory=True)
    return link


def shown(path) -> str:
    """A path as short as it is unambiguous: relative to the working folder when inside it."""
    path = Path(path)
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def short_summary(summary, row: dict) -> str:
    """One method's outcome in at most 80 columns: faces, where they went, the key figures: the
    review queue's faces at risk (the strictest judge) and detection mAP."""
    line = (f"{summary.method}: {summary.faces} faces in {summary.images - summary.failed} images"
            f" -> {shown(summary.output_dir)}")
    figures = [f"at risk {row['at_risk']} of {row['faces']} (same person: {row['same_person']:.0%} of "
               f"{row['judged']} judged)" if row.get("same_person") is not None
               else f"at risk {row.get('at_risk', 'n/a')} of {row['faces']} (no face judged)",
               f"detection mAP {row['mAP']:.2f}" if row.get("mAP") is not None else None,
               f"{summary.failed} failed" if summary.failed else None]
    return f"{line}\n  " + ", ".join(f for f in figures if f)


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
    from ldfa.plugin.anonymization.config import FACE_METHODS, AnonymizationConfig
    from ldfa.plugin.anonymization.diffusion import model_available

    model = model or AnonymizationConfig().diffusion.model
    available, why = model_available(model)
    methods = [m.name for m in FACE_METHODS if available or not m.batched]
    if not available:
        print(f"ldfa method skipped: {why}; running the classic methods", file=sys.stderr)
    for method in methods:
        params = {"model": model} if method == "ldfa" else {}
        yield anonymize_faces(dataset, method=method, output_dir=output / f"anon_{method}",
                              overwrite=True, progress=True, **params)
