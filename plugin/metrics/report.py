"""The comparison report: one row per anonymized field plus the untouched originals.

Columns follow the LDFA paper's table (detection mAP overall and by COCO face area, AP50) and
add the review queue's count of faces of each status (``status.py``: at risk, not measurable,
replaced; they add up to the faces), what is left of the original pixels (residual similarity),
the strictest judge's verdict
(share of the faces some embedder judges that any embedder still calls the same person, and
re-identified by any; ``ldfa.plugin.metrics.verdict``), then per embedder its own identity
distance, re-identification rate and share within threshold over the faces it can judge, with
the count it cannot, and what the face still does (``ldfa.plugin.metrics.attributes``: head
pose, eye and mouth openness, landmark NME, and the share of faces the face mesh still finds).
A second table gives the residual, identity and pose figures by face size (shorter side),
where small street faces show what the overall figures hide. The Markdown shows every rate
beside the faces it is over and the row's faces (``0.448 (29/128)``). Written as Markdown and CSV with
PNG plots (identity-distance histograms per method, AP by face size, attribute differences).
Missing measurements are computed; ``recompute=True`` redoes them.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ldfa.plugin.io.atomic import atomic_write
from ldfa.plugin.metrics.face_sizes import BUCKETS
from ldfa.plugin.metrics.measure import MEASURES, measure_version
from ldfa.plugin.metrics.status import status_totals
from ldfa.plugin.metrics.verdict import RESIDUAL_AT_RISK
from ldfa.plugin.models.embedders import DEFAULT_EMBEDDERS
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import anonymized_fields, faces_field_of, run_config, run_results
from ldfa.plugin.schema import (
    ATTRIBUTES,
    DETECTION_EVAL,
    IDENTITY,
    ORIGINAL,
    RESIDUAL,
    attribute_diff,
    identity_distance,
    run_key,
)

# The attribute columns of the table (means over the faces the mesh reads in both versions).
ATTRIBUTE_COLUMNS = ("pose_diff_deg", "eye_diff", "mouth_diff", "landmark_nme", "mesh_kept")


def comparison_table(
    collection,
    faces_field: str | None = None,
    gt_field: str | None = None,
    fields: list[str] | None = None,
    embedders: tuple[str, ...] | list[str] = DEFAULT_EMBEDDERS,
    detector: str | None = None,
    recompute: bool = False,
    progress: ProgressArg = True,
) -> list[dict]:
    """One row per version (the original reference first), measuring what is missing; the faces
    are ``faces_field`` (default: the ones the anonymization runs replaced)."""
    faces_field = faces_field or faces_field_of(collection)
    methods = {ORIGINAL: ORIGINAL, **anonymized_fields(collection)}
    rows = []
    for field in [ORIGINAL, *(fields or list(methods)[1:])]:
        found = {kind: None if recompute else run_results(collection, run_key(kind, field))
                 for kind in MEASURES}
        ident = found[IDENTITY]
        if ident and (set(embedders) - set(ident["embedders"]) or "verdict" not in ident):
            found[IDENTITY] = None  # without some embedder, or a run from before the verdict
        found.update(measure_version(  # the missing ones in one pass over the pairs
            collection, field, [kind for kind, results in found.items() if results is None],
            faces_field=faces_field, gt_field=gt_field, embedders=embedders, progress=progress,
            **({"detector": detector} if detector else {})))
        ident = run_results(collection, run_key(IDENTITY, field))  # per embedder under "embedders"
        residual, det, attributes = (found[kind] for kind in (RESIDUAL, DETECTION_EVAL, ATTRIBUTES))
        row = {"method": methods[field], "field": field, "faces": det["faces"],
               **status_totals(collection, field, faces_field)}
        row.update({c: det[c] for c in ("mAP", "mAP_s", "mAP_m", "mAP_l", "AP50")})
        row["residual"] = residual["mean"]
        verdict = ident["verdict"]
        row.update(judged=verdict["judged"], same_person=verdict["same_person_rate"], reid=verdict["reid_rate"])
        for emb in embedders:
            stats = ident["embedders"][emb]
            row[f"{emb}_dist"] = stats["mean"]
            row[f"{emb}_judged"] = stats["measured"] + stats["no_usable_crop"]
            row[f"{emb}_no_crop"] = stats["no_usable_crop"]
            row[f"{emb}_too_small"] = stats["not_measurable"]
            row[f"{emb}_reid"] = stats["reid_rate"]
            row[f"{emb}_within"] = stats["within_threshold"]
        row.update({c: attributes[c] for c in ATTRIBUTE_COLUMNS})
        row["mesh_read"] = attributes["measured"] + attributes["no_face_left"]
        rows.append(row)
    return rows


def size_table(collection, rows: list[dict]) -> list[dict]:
    """The residual, identity and attribute figures of ``rows``' versions by face size bucket
    (shorter side ``<16``, ``16-32``, ``>32`` px), from their recorded runs."""
    out = []
    for row in rows:
        residual = (run_results(collection, run_key(RESIDUAL, row["field"])) or {}).get("by_size", {})
        recorded = run_results(collection, run_key(IDENTITY, row["field"])) or {}
        ident, verdict = recorded.get("embedders", {}), recorded.get("verdict", {}).get("by_size", {})
        attributes = (run_results(collection, run_key(ATTRIBUTES, row["field"])) or {}).get("by_size", {})
        for size in BUCKETS:
            cell = {"method": row["method"], "field": row["field"], "size": size,
                    "faces": residual.get(size, {}).get("faces"),
                    "residual": residual.get(size, {}).get("mean"),
                    "judged": verdict.get(size, {}).get("judged"),
                    "same_person": verdict.get(size, {}).get("same_person_rate")}
            for emb, stats in ident.items():
                by = stats.get("by_size", {}).get(size, {})
                cell[f"{emb}_judged"] = by.get("measured", 0) + by.get("no_usable_crop", 0)
                cell[f"{emb}_reid"] = by.get("reid_rate")
                cell[f"{emb}_within"] = by.get("within_threshold")
            by = attributes.get(size, {})
            cell["mesh_read"] = by.get("measured", 0) + by.get("no_face_left", 0)
            cell.update({c: by.get(c) for c in ("pose_diff_deg", "landmark_nme", "mesh_kept")})
            out.append(cell)
    return out


def write_report(collection, output_dir: str | os.PathLike, rows: list[dict] | None = None,
                 faces_field: str | None = None, by_size: list[dict] | None = None,
                 **table_args) -> dict[str, Path]:
    """Write report.md, report.csv, report_by_size.csv and the PNG plots into ``output_dir``;
    return their paths. ``rows`` and ``by_size``: the tables, when the caller has them."""
    faces_field = faces_field or faces_field_of(collection)
    rows = rows if rows is not None else comparison_table(collection, faces_field=faces_field,
                                                          **table_args)
    by_size = by_size if by_size is not None else size_table(collection, rows)
    out = Path(output_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "report.md", "csv": out / "report.csv",
             "by_size_csv": out / "report_by_size.csv",
             "identity_png": out / "identity_distance.png", "ap_png": out / "ap_by_size.png",
             "attributes_png": out / "attributes.png"}
    _atomic_text(paths["markdown"], to_markdown(rows, collection._dataset.name, by_size))
    _atomic_text(paths["csv"], _to_csv(rows))
    _atomic_text(paths["by_size_csv"], _to_csv(by_size))
    _plot_identity(collection, rows, faces_field, paths["identity_png"])
    _plot_ap(rows, paths["ap_png"])
    _plot_attributes(collection, rows, faces_field, paths["attributes_png"])
    return paths


def _cell(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _basis(column: str) -> str | None:
    """The column counting the faces a rate column is over (its denominator), or None."""
    if column in ("same_person", "reid"):
        return "judged"
    if column.endswith(("_reid", "_within")):
        return f"{column.rsplit('_', 1)[0]}_judged"
    return "mesh_read" if column == "mesh_kept" else None


def _shown(row: dict, column: str) -> str:
    """A cell as the Markdown table shows it: a rate beside what it counts, ``0.448 (29/128)``
    (over 29 of the row's 128 faces), so a rate over few faces never reads as one over all."""
    basis = _basis(column)
    if basis is None or basis not in row:
        return _cell(row[column])
    return f"{_cell(row[column])} ({_cell(row[basis])}/{_cell(row.get('faces'))})"


def to_markdown(rows: list[dict], title: str, by_size: list[dict] | None = None) -> str:
    lines = [f"# ldfa report: {title}", "",
             "mAP columns: COCOeval of a face detector on each version against the reference faces "
             "(`mAP_s/m/l`: COCO areas < 32², 32²-96², > 96² px). Every rate shows beside it what it "
             "counts: `0.448 (29/128)` is over the 29 faces judged of the row's 128. The review "
             "queue, one status per face: `at_risk`: some embedder still calls it the same person, "
             f"or none can judge it and its residual is {RESIDUAL_AT_RISK} or more; `not_measurable`: "
             "none can judge it and less remains; `replaced`: judged, and no embedder calls it the "
             "same person. `residual`: mean correlation of a "
             "face box's grey pixels with the original's (1: still there, 0: nothing left); "
             "`judged`: faces at least one embedder can judge; `same_person`: share of them that any "
             "embedder still calls the same person, the strictest judge, as an "
             "attacker uses its best model; `reid`: share re-identified by any embedder; per "
             "embedder, its own figures: `*_dist`: mean identity distance (FaceNet cosine, dlib "
             "Euclidean) over measured faces; `*_judged`: faces it can judge; `*_no_crop`: faces "
             "with no face left to measure (judged: not the same person); "
             "`*_too_small`: faces below the size the embedder can judge, left out of its rates; "
             "`*_reid`: re-identification rate and `*_within`: share within the same-person "
             "threshold, both over the faces the embedder can judge. What the face still does, over "
             "the faces the face mesh reads in both versions: `pose_diff_deg` mean absolute "
             "yaw/pitch/roll difference (degrees), `eye_diff` / `mouth_diff` openness differences, "
             "`landmark_nme` landmark error over the inter-ocular distance; `mesh_kept`: share of the "
             "`mesh_read` faces (large enough, read on the original) still read as a face.", "",
             *_table(rows)]
    if by_size:
        lines += ["", "## By face size (shorter side, px)", "",
                  "`judged`: faces at least one embedder can judge in that size, `same_person` "
                  "the share of them any embedder calls the same person; `*_judged`: faces the "
                  "embedder can judge.", "", *_table(by_size)]
    return "\n".join(lines) + "\n"


def _table(rows: list[dict]) -> list[str]:
    columns = list(rows[0]) if rows else []
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
            *("| " + " | ".join(_shown(r, c) for c in columns) + " |" for r in rows)]


def _to_csv(rows: list[dict]) -> str:
    import io

    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _atomic_text(path: Path, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def identity_histograms(collection, rows, faces_field: str | None = None, bins: int = 30) -> dict:
    """Per embedder: ``edges`` shared by every version, from 0 to past the same-person
    ``threshold`` and the largest distance, and each version's face ``counts`` in them, so
    every version shows on one scale (a version's own range would hide the others)."""
    import numpy as np

    faces_field = faces_field or faces_field_of(collection)

    embedders = [k[: -len("_dist")] for k in rows[0] if k.endswith("_dist")] if rows else []
    out = {}
    for emb in embedders:
        values, threshold = {}, None
        for row in rows:
            values[row["method"]] = [v for v in collection.values(
                f"{faces_field}.detections.{identity_distance(row['field'], emb)}", unwind=True)
                if v is not None]
            config = run_config(collection, run_key(IDENTITY, row["field"])) or {}
            threshold = threshold or (config.get("thresholds") or {}).get(emb)
        top = max([1.2 * (threshold or 0)] + [max(v) for v in values.values() if v]) or 1.0
        edges = np.linspace(0.0, top, bins + 1)
        out[emb] = {"edges": edges, "threshold": threshold,
                    "counts": {m: np.histogram(v, edges)[0] for m, v in values.items()}}
    return out


def _plot_identity(collection, rows, faces_field, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = identity_histograms(collection, rows, faces_field)
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(6 * max(len(panels), 1), 4))
    axes = [axes] if not hasattr(axes, "__len__") else list(axes)
    for ax, (emb, panel) in zip(axes, panels.items()):
        edges = panel["edges"]
        for method, counts in panel["counts"].items():
            if counts.sum():
                ax.stairs(counts, edges, fill=True, alpha=0.5, label=f"{method} ({counts.sum()})")
        if panel["threshold"] is not None:
            ax.axvline(panel["threshold"], color="black", linestyle="--",
                       label=f"same person below {panel['threshold']:g}")
        ax.set_xlim(0.0, edges[-1])
        ax.set_title(f"{emb} identity distance (original vs anonymized)")
        ax.set_xlabel("distance (0: the same face)")
        ax.set_ylabel("faces")
        ax.legend()
    _save(fig, path)


def _plot_ap(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["mAP_s", "mAP_m", "mAP_l", "mAP"]
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(rows), 1)
    for i, row in enumerate(rows):
        ax.bar([c + i * width for c in range(len(columns))],
               [row[c] or 0.0 for c in columns], width, label=row["method"])
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(columns))],
                  ["small (<32²)", "medium", "large (>96²)", "all"])
    ax.set_ylabel("COCO AP@[.5:.95]")
    ax.set_title("Face detection AP by face size")
    ax.legend()
    _save(fig, path)


def _plot_attributes(collection, rows, faces_field, path: Path) -> None:
    _save(attributes_figure(collection, rows, faces_field), path)


def attributes_figure(collection, rows, faces_field: str):
    """Per-face pose difference and landmark NME of each version, on shared bins from 0; when
    no anonymized version has a face the mesh finds (classic methods leave none), a figure that
    says so, not empty axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = (("pose_diff_deg", "head pose difference (mean |yaw|,|pitch|,|roll|, degrees)"),
              ("landmark_nme", "landmark NME (inter-ocular)"))
    values = {name: {row["method"]: [v for v in collection.values(
        f"{faces_field}.detections.{attribute_diff(row['field'], name)}", unwind=True) if v is not None]
        for row in rows} for name, _ in panels}
    versions = [row["method"] for row in rows if row["field"] != ORIGINAL]
    if not any(values[name][method] for name, _ in panels for method in versions):
        fig, ax = plt.subplots(figsize=(8, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "Attribute differences: nothing to compare.\nThe face mesh finds no face "
                "in any anonymized version (classic methods leave none to measure);\nmethods that "
                "draw a new face (ldfa) are measured here.", ha="center", va="center")
        return fig
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4))
    for ax, (name, title) in zip(axes, panels):
        edges = np.linspace(0.0, max([max(v) for v in values[name].values() if v] + [1e-3]) * 1.05, 31)
        for method, vals in values[name].items():
            if vals:
                ax.stairs(np.histogram(vals, edges)[0], edges, fill=True, alpha=0.5,
                          label=f"{method} ({len(vals)})")
        ax.set_title(title)
        ax.set_xlabel("difference to the original (0: kept)")
        ax.set_ylabel("faces")
        if any(values[name].values()):
            ax.legend()
    return fig


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
