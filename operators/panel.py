"""The "Anonymization audit" panel: the report's table and plots; a click filters the grid.

It reads recorded runs only (it never starts a computation), so it opens instantly. On the
grouped audit dataset a click also switches the grid to the slice of the version clicked, so
the grid shows the anonymized faces themselves.
"""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.layout import AUDIT_PANEL, preferred_field
from ldfa.operators.side_by_side import COLORS
from ldfa.plugin.audit.dataset import source_dataset
from ldfa.plugin.audit.views import (
    FACE_SIZES,
    detection_eval_key,
    embedder_of,
    lost_faces,
    riskiest_faces,
    risky_faces,
)
from ldfa.plugin.freshness import stale_samples
from ldfa.plugin.metrics.report import ATTRIBUTE_COLUMNS, size_table
from ldfa.plugin.runs import anonymized_fields, faces_field_of, run_results
from ldfa.plugin.schema import (
    ATTRIBUTES,
    DETECTION_EVAL,
    IDENTITY,
    ORIGINAL,
    RESIDUAL,
    attribute_diff,
    run_key,
    same_person,
    threshold_ratio,
)

# table column -> heading; arrows say which way is better
COLUMNS = {"field": "version", "faces": "faces", "stale": "stale images ↓", "residual": "residual ↓",
           "same_person": "same person (any model) ↓", "reid": "re-id (any model) ↓",
           "not_measurable": "no model judges", "embedder": "model", "dist": "distance ↑",
           "mAP": "mAP ↑",
           "mAP_s": "AP S", "mAP_m": "AP M", "mAP_l": "AP L", "pose_diff_deg": "pose Δ° ↓",
           "eye_diff": "eyes Δ ↓", "mouth_diff": "mouth Δ ↓", "landmark_nme": "NME ↓",
           "mesh_kept": "mesh finds ↑"}
# the same figures by face size (shorter side): small street faces are where methods differ
SIZE_COLUMNS_TABLE = {"field": "version", "size": "face px", "faces": "faces",
                      "residual": "residual ↓", "judged": "any model judges",
                      "same_person": "same person (any model) ↓", "facenet_judged": "FaceNet judges",
                      "facenet_within": "FaceNet same person ↓", "dlib_judged": "dlib judges",
                      "dlib_within": "dlib same person ↓", "pose_diff_deg": "pose Δ° ↓",
                      "landmark_nme": "NME ↓"}
SIZE_COLUMNS = {"small": "mAP_s", "medium": "mAP_m", "large": "mAP_l"}


def table_rows(dataset) -> list[dict]:
    """The report's comparison rows from recorded runs only; a missing measure stays None. Same
    person and re-id are the strictest judge's (any model of the version's identity run); the
    distance is that of the embedder ``embedder_of`` names."""
    methods = {ORIGINAL: ORIGINAL, **anonymized_fields(dataset)}
    rows = []
    for field, method in methods.items():
        det = run_results(dataset, run_key(DETECTION_EVAL, field)) or {}
        ident = run_results(dataset, run_key(IDENTITY, field)) or {}
        embedder = embedder_of(dataset, field)
        stats = (ident.get("embedders") or {}).get(embedder) or {}
        verdict = ident.get("verdict") or {}
        residual = run_results(dataset, run_key(RESIDUAL, field)) or {}
        attributes = run_results(dataset, run_key(ATTRIBUTES, field)) or {}
        row = {"method": method, "field": field, "faces": det.get("faces"),
               "stale": None if field == ORIGINAL else len(stale_samples(dataset, field)),
               "residual": residual.get("mean"), "same_person": verdict.get("same_person_rate"),
               "reid": verdict.get("reid_rate"), "not_measurable": verdict.get("not_measurable"),
               "embedder": embedder, "dist": stats.get("mean")}
        row.update({c: det.get(c) for c in ("mAP", "mAP_s", "mAP_m", "mAP_l")})
        row.update({c: attributes.get(c) for c in ATTRIBUTE_COLUMNS})
        rows.append({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


class AnonymizationAudit(foo.Panel):
    """Comparison table and plots; clicking a row or bar filters the grid to those faces."""

    @property
    def config(self):
        return foo.PanelConfig(name=AUDIT_PANEL, label="Anonymization audit", icon="face",
                               help_markdown="Identity distance: larger is safer. AP: higher "
                                             "means detectors still find the faces.")

    def on_load(self, ctx):
        dataset = source_dataset(ctx.dataset)
        rows = table_rows(dataset)
        fields = [r["field"] for r in rows if r["field"] != ORIGINAL]
        ctx.panel.state.table = rows
        ctx.panel.state.by_size = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                                   for r in size_table(dataset, rows)]
        ctx.panel.state.fields = fields
        ctx.panel.state.faces_field = faces_field = faces_field_of(dataset)
        ctx.panel.state.message = _message(fields, rows)
        ctx.panel.data.ap_plot = [
            {"type": "bar", "name": size, "x": [r["field"] for r in rows],
             "y": [r[column] for r in rows]} for size, column in SIZE_COLUMNS.items()]
        ctx.panel.data.dist_plot = _risk_plot(dataset, faces_field, fields)
        ctx.panel.data.pose_plot = _per_face_boxes(
            dataset, faces_field, fields, lambda f: attribute_diff(f, "pose_diff_deg"))

    def on_refresh(self, ctx):
        self.on_load(ctx)

    def _show(self, ctx, field: str, view) -> None:
        """Show ``view`` in the grid and, on an audit dataset, the slice of ``field``."""
        ctx.ops.set_view(view=view)
        if ctx.dataset.media_type == "group" and field in ctx.dataset.group_slices:
            ctx.ops.set_group_slice(field)

    def show_risky(self, ctx, field: str) -> None:
        """The faces of ``field`` that any model still calls the same person."""
        if field not in (ctx.panel.state.fields or []):
            self._show(ctx, ORIGINAL, ctx.dataset.view())
            return
        self._show(ctx, field, risky_faces(ctx.dataset, field, ctx.panel.state.faces_field))

    def on_row_click(self, ctx):
        row = _row(ctx)
        if row is not None:
            self.show_risky(ctx, row["field"])

    def on_row_riskiest(self, ctx):
        """Patches of the row's faces, riskiest (smallest identity distance) first."""
        row = _row(ctx)
        if row is not None and row["field"] in (ctx.panel.state.fields or []):
            self._show_riskiest(ctx, row["field"])

    def on_dist_click(self, ctx):
        self.show_risky(ctx, ctx.params.get("trace") or ctx.params.get("x"))

    def on_ap_click(self, ctx):
        """Faces of the clicked size that the detector misses on the clicked version."""
        field, size = ctx.params.get("x"), ctx.params.get("trace")
        if field in [r["field"] for r in ctx.panel.state.table or []] and size in FACE_SIZES:
            key = detection_eval_key(source_dataset(ctx.dataset), field)
            self._show(ctx, field, lost_faces(ctx.dataset, field, ctx.panel.state.faces_field,
                                              size, key))

    def on_riskiest(self, ctx):
        field = preferred_field(ctx.panel.state.fields or [])
        if field:
            self._show_riskiest(ctx, field)

    def _show_riskiest(self, ctx, field: str) -> None:
        """Patches of ``field``'s faces, riskiest (closest to any model's threshold) first."""
        ctx.ops.set_view(view=riskiest_faces(ctx.dataset, field, ctx.panel.state.faces_field))

    def on_reset(self, ctx):
        self._show(ctx, ORIGINAL, ctx.dataset.view())

    def render(self, ctx):
        panel = types.Object()
        panel.md(ctx.panel.state.message or "", name="intro")
        table = types.TableView(on_click_row=self.on_row_click)
        for column, label in COLUMNS.items():
            table.add_column(column, label=label)
        table.add_row_action("riskiest", on_click=self.on_row_riskiest,
                             label="Faces, riskiest first")
        panel.list("table", types.Object(), view=table)
        sizes = types.TableView()
        for column, label in SIZE_COLUMNS_TABLE.items():
            sizes.add_column(column, label=label)
        panel.list("by_size", types.Object(), view=sizes, label="By face size: residual "
                   "similarity and identity, over the faces each embedder can judge; head pose "
                   "and landmarks, over the faces the face mesh reads")
        buttons = panel.h_stack("buttons", align_x="left", gap=1)
        buttons.btn("riskiest", label="Faces, riskiest first", on_click=self.on_riskiest,
                    variant="contained")
        buttons.btn("reset", label="Show all", on_click=self.on_reset, variant="outlined")
        panel.plot("dist_plot", on_click=self.on_dist_click, config={"displaylogo": False},
                   layout={"title": {"text": "Closest identity distance per face, in same-person "
                                             "thresholds (red: below 1, a model still recognises it)"},
                           "height": 320, "showlegend": False, "yaxis": {"rangemode": "tozero"},
                           "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 1,
                                       "y1": 1, "line": {"dash": "dash", "color": "black"}}]})
        panel.plot("pose_plot", config={"displaylogo": False},
                   layout={"title": {"text": "Head pose difference per face (degrees)"},
                           "height": 320, "showlegend": False, "yaxis": {"rangemode": "tozero"}})
        panel.plot("ap_plot", on_click=self.on_ap_click, config={"displaylogo": False},
                   layout={"title": {"text": "Face detection AP by face size"},
                           "barmode": "group", "height": 320,
                           "yaxis": {"range": [0, 1]}})
        return types.Property(panel, view=types.GridView(orientation="vertical"))


def _row(ctx) -> dict | None:
    rows = ctx.panel.state.table or []
    row = ctx.params.get("row")
    return rows[int(row)] if row is not None and 0 <= int(row) < len(rows) else None


def _message(fields: list[str], rows: list[dict]) -> str:
    if not fields:
        return ("No anonymized version yet: run *Anonymize faces*, then *Compute identity "
                "distance* and *Evaluate face detection* (or `ldfa report`).")
    stale = [f"{r['field']} ({r['stale']})" for r in rows if r["stale"]]
    warning = (f"**Stale images**: {', '.join(stale)} were made from other faces than the dataset holds "
               "now, so their new faces are in the clear there: run *Anonymize faces* again to redo "
               "them (export refuses them until then).\n\n" if stale else "")
    if all(r["mAP"] is None and r["dist"] is None for r in rows):
        return warning + "Not measured yet: run `ldfa report` (or the two metric operators) to fill the table."
    return warning + ("**same person**: share of the faces some model can judge that any model still "
            "calls the same person as the original, the strictest judge, as an attacker uses its best "
            "model (aim for 0). **re-id**: share whose nearest original is their own for any model (aim "
            "for chance). **no model judges**: faces too small for every model (not safe: unknown). "
            "**distance**: mean identity distance (of the model named), original face to anonymized "
            "face (larger is safer). "
            "**mAP, AP S/M/L**: COCO AP of a face detector on each version, overall and for small "
            "(< 32²px), medium and large (> 96²px) faces: the closer to *original*, the more "
            "useful the images stay. **pose Δ°, eyes Δ, mouth Δ, NME**: how far the anonymized face's "
            "head pose, eye and mouth openness and landmarks are from the original's (aim for 0); "
            "**mesh finds**: share of faces the face mesh still reads as a face. Click a row or a "
            "box for the faces a model still recognises, a bar for the faces the detector missed.")


def _risk_plot(dataset, faces_field: str, fields: list[str]) -> list[dict]:
    """Per version a box of every face's closest distance in same-person thresholds, and again
    in red the faces the verdict calls the same person, so the colour is the verdict's."""
    traces = []
    for box in _per_face_boxes(dataset, faces_field, fields, threshold_ratio):
        ratios, verdicts = dataset.values([f"{faces_field}.detections.{threshold_ratio(box['name'])}",
                                           f"{faces_field}.detections.{same_person(box['name'])}"],
                                          unwind=True)
        traces += [{**box, "x": [box["name"]] * len(box["y"]), "marker": {"color": COLORS["safe"]}},
                   {"type": "scatter", "mode": "markers", "name": box["name"],
                    "x": [box["name"]] * sum(v is True for v in verdicts),
                    "y": [r for r, v in zip(ratios, verdicts) if v is True],
                    "marker": {"color": COLORS["risky"], "size": 9}}]
    return traces


def _per_face_boxes(dataset, faces_field: str, fields: list[str], figure) -> list[dict]:
    """One box plot per version of a per-face figure (``figure(field)`` names it), where measured."""
    boxes = []
    for field in fields:
        key = f"{faces_field}.detections.{figure(field)}"
        if dataset.has_field(key):
            boxes.append({"type": "box", "name": field, "boxpoints": "all",
                          "y": [v for v in dataset.values(key, unwind=True) if v is not None]})
    return boxes
