"""The "Anonymization audit" panel: comparison table and plots; a click filters the grid."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone import ViewField as F

from ldfa.plugin.audit import PANEL_NAME, riskiest_faces, source_dataset, threshold
from ldfa.plugin.report import ORIGINAL, _results, anonymized_fields
from ldfa.plugin.runs import run_key

EMBEDDER = "facenet"
COLUMNS = ("method", "field", "faces", "mAP", "mAP_s", "mAP_m", "mAP_l",
           f"{EMBEDDER}_dist", f"{EMBEDDER}_within")


def table_rows(dataset) -> list[dict]:
    """The report's comparison rows from recorded runs only (the panel never starts a computation)."""
    methods = anonymized_fields(dataset)
    rows = []
    for field in [None, *methods]:
        det = _results(dataset, run_key("detection", f"{field or ORIGINAL}_det")) or {}
        ident = _results(dataset, run_key("identity", field or "filepath")) or {}
        stats = (ident.get("embedders") or {}).get(EMBEDDER) or {}
        row = {"method": methods.get(field, ORIGINAL), "field": field or ORIGINAL,
               "faces": det.get("faces"), f"{EMBEDDER}_dist": stats.get("mean"),
               f"{EMBEDDER}_within": stats.get("within_threshold")}
        row.update({c: det.get(c) for c in ("mAP", "mAP_s", "mAP_m", "mAP_l")})
        rows.append({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


class AnonymizationAudit(foo.Panel):
    """Comparison table and plots; clicking a row or bar filters the grid to those faces."""

    @property
    def config(self):
        return foo.PanelConfig(name=PANEL_NAME, label="Anonymization audit", icon="face",
                               help_markdown="Identity distance: larger is safer. AP: higher "
                                             "means detectors still find the faces.")

    def on_load(self, ctx):
        dataset = source_dataset(ctx.dataset)
        rows = table_rows(dataset)
        ctx.panel.state.table = rows
        ctx.panel.state.fields = [r["field"] for r in rows if r["field"] != ORIGINAL]
        bars = [{"type": "bar", "name": size, "x": [r["field"] for r in rows],
                 "y": [r.get(f"mAP_{size}") for r in rows]} for size in ("s", "m", "l")]
        ctx.panel.data.ap_plot = bars
        boxes = []
        for field in ctx.panel.state.fields:
            key = f"faces.detections.{field}_{EMBEDDER}_dist"
            if dataset.has_field(key):
                boxes.append({"type": "box", "name": field,
                              "y": [v for v in dataset.values(key, unwind=True) if v is not None]})
        ctx.panel.data.dist_plot = boxes

    def on_refresh(self, ctx):
        self.on_load(ctx)

    def _show_field(self, ctx, field):
        """Filter the grid to the faces of ``field`` within the same-person threshold."""
        dataset = source_dataset(ctx.dataset)
        if field == ORIGINAL or field not in anonymized_fields(dataset):
            ctx.ops.set_view(view=dataset.view())
            return
        limit = threshold(dataset, field, EMBEDDER)
        ctx.ops.set_view(view=dataset.filter_labels(
            "faces", F(f"{field}_{EMBEDDER}_dist") < limit, only_matches=True))

    def on_row_click(self, ctx):
        rows = ctx.panel.state.table or []
        row = ctx.params.get("row")
        if row is not None and 0 <= int(row) < len(rows):
            self._show_field(ctx, rows[int(row)]["field"])

    def on_plot_click(self, ctx):
        self._show_field(ctx, ctx.params.get("x") or ctx.params.get("trace"))

    def on_riskiest(self, ctx):
        dataset = source_dataset(ctx.dataset)
        fields = ctx.panel.state.fields or []
        if fields:
            ctx.ops.set_view(view=riskiest_faces(dataset, fields[0]))

    def render(self, ctx):
        panel = types.Object()
        panel.md("Identity distance (FaceNet cosine): larger is safer; below the threshold the "
                 "face may still be recognised. AP: higher means detectors still find faces.",
                 name="intro")
        table = types.TableView()
        for column in COLUMNS:
            table.add_column(column, label=column)
        table.add_row_action("show", on_click=self.on_row_click, label="Show risky faces")
        panel.list("table", types.Object(), view=table)
        panel.plot("dist_plot", layout={"title": "Identity distance per method", "height": 300},
                   on_click=self.on_plot_click)
        panel.plot("ap_plot", layout={"title": "AP by face size", "barmode": "group",
                                      "height": 300}, on_click=self.on_plot_click)
        panel.btn("riskiest", label="Faces, riskiest first", on_click=self.on_riskiest)
        return types.Property(panel, view=types.GridView(orientation="vertical"))
