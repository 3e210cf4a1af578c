"""The "Anonymization audit" panel: the review queue, the report's tables and plots; a click opens
the faces it counts.

Every face of a version has one review status (``ldfa.plugin.schema.face_status``: at risk, not
measurable, replaced); the first table counts them per version with the detector's misses, and a
click on a count opens those faces: as patches in the grid and as tiles the panel draws itself
(``ldfa.operators.tiles``: original beside anonymized, labelled with the status and its numbers,
tiny faces drawn large). Every rate stands beside the faces it counts. It reads recorded runs and
per-face statuses only (it never starts a computation), so it opens instantly. On the grouped
audit dataset a click also switches the grid to the slice of the version clicked, so the grid
shows the anonymized faces themselves. Videos and frame sequences get the figures over
time of each version (leaks, flicker, identity consistency) and, per version, its leaking tracks;
a video dataset shows those alone, since the per-face image measures read still images. Licence
plates have a queue of their own under the faces' (the same statuses, from the plate measures), and
a click on a count opens those plates the same way, their tiles showing how much of the plate
changed and the text OCR reads before and after.
"""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone import ViewField as F

from ldfa.operators.layout import AUDIT_PANEL, preferred_field
from ldfa.operators.panel_tables import (
    LEAK_COLUMNS,
    PLATE_QUEUE_COLUMNS,
    PRIVACY_COLUMNS,
    QUEUE_COLUMNS,
    QUEUES,
    SIZE_COLUMNS,
    SIZE_COLUMNS_TABLE,
    TEMPORAL_COLUMNS,
    UTILITY_COLUMNS,
    leak_rows,
    plate_rows,
    size_rows,
    table_rows,
    temporal_rows,
)
from ldfa.operators.side_by_side import COLORS, status_color
from ldfa.operators.tiles import MIN_FACE_PX as TILE_FACE_PX
from ldfa.operators.tiles import MISSED, face_describer, plate_describer, queue_tiles, tiles_figure
from ldfa.plugin.audit.views import (
    FACE_SIZES,
    detection_eval_key,
    faces_with_status,
    leaking_samples,
    leaking_track,
    leaks_view,
    lost_faces,
    mirrored,
    over_time,
    plates_field_of,
    plates_with_status,
    source_dataset,
)
from ldfa.plugin.metrics.attributes_core import MIN_FACE_PX
from ldfa.plugin.metrics.verdict import RESIDUAL_AT_RISK
from ldfa.plugin.runs import faces_field_of, run_config, run_results
from ldfa.plugin.schema import (
    AT_RISK,
    ATTRIBUTES,
    FACE_STATUSES,
    FACES,
    IDENTITY,
    NOT_MEASURABLE,
    ORIGINAL,
    PLATES,
    STATUS_WORDS,
    attribute_diff,
    face_status,
    residual,
    run_key,
    same_person,
    threshold_ratio,
)

TILES_PAGE = 12  # faces drawn as tiles at a time; the grid beside holds the whole queue


class AnonymizationAudit(foo.Panel):
    """The review queue, the comparison tables and plots; a click opens the faces it counts."""

    @property
    def config(self):
        return foo.PanelConfig(name=AUDIT_PANEL, label="Anonymization audit", icon="face",
                               help_markdown="Every face has one status: at risk, not measurable or "
                                             "replaced. Click a count for its faces.")

    def on_load(self, ctx):
        dataset = source_dataset(ctx.dataset)
        rows = table_rows(dataset)
        fields = [r["field"] for r in rows if r["field"] != ORIGINAL]
        ctx.panel.state.table = rows
        ctx.panel.state.fields = fields
        ctx.panel.state.faces_field = faces_field = faces_field_of(dataset)
        ctx.panel.state.video = video = dataset.media_type == "video"
        temporal = temporal_rows(dataset) if over_time(dataset) else None
        ctx.panel.state.temporal = temporal
        ctx.panel.state.leak_fields = [r["field"] for r in temporal or [] if r["leaking_tracks"]]
        for k, field in enumerate(ctx.panel.state.leak_fields):
            ctx.panel.state.set(f"leaks_{k}", leak_rows(dataset, field))
        ctx.panel.state.message = _message(fields, rows, temporal, video)
        if video:  # the image measures and their plots read still images
            return
        ctx.panel.state.queue = ctx.panel.state.privacy = ctx.panel.state.utility = rows
        ctx.panel.state.plates_field = plates_field = plates_field_of(dataset)
        ctx.panel.state.plates_queue = plate_rows(dataset, plates_field)
        ctx.panel.state.by_size = size_rows(dataset, rows)
        ctx.panel.state.tiles = None
        ctx.panel.data.ap_plot = [
            {"type": "bar", "name": size, "x": [r["field"] for r in rows],
             "y": [r[column] for r in rows]} for size, column in SIZE_COLUMNS.items()]
        ctx.panel.data.dist_plot = _risk_plot(dataset, faces_field, fields)
        ctx.panel.data.residual_plot = _residual_plot(dataset, faces_field, fields)
        pose = [box for box in _per_face_boxes(dataset, faces_field, fields,
                                               lambda f: attribute_diff(f, "pose_diff_deg")) if box["y"]]
        ctx.panel.data.pose_plot = pose
        ctx.panel.state.pose_empty = None if pose else _pose_missing(dataset, fields)

    def on_refresh(self, ctx):
        self.on_load(ctx)

    def _show(self, ctx, field: str, view) -> None:
        """Show ``view`` in the grid and, on an audit dataset, the slice of ``field``."""
        ctx.ops.set_view(view=view)
        if ctx.dataset.media_type == "group" and field in ctx.dataset.group_slices:
            ctx.ops.set_group_slice(field)

    def show_risky(self, ctx, field: str) -> None:
        """The images of ``field`` with only their faces at risk."""
        if field not in (ctx.panel.state.fields or []):
            self._show(ctx, ORIGINAL, ctx.dataset.view())
            return
        at_risk = F(face_status(field)) == AT_RISK
        self._show(ctx, field, ctx.dataset.filter_labels(ctx.panel.state.faces_field, at_risk, only_matches=True))

    def on_row_click(self, ctx):
        row = _row(ctx)
        if row is not None:
            self.show_risky(ctx, row["field"])

    def on_queue_click(self, ctx):
        """A count of the review queue: that version's faces of that status (or the detector's
        misses), as patches in the grid and as tiles here; elsewhere in the row, its images with
        their faces at risk."""
        row, column = _row(ctx), ctx.params.get("column")
        if row is None or column is None or not 0 <= int(column) < len(QUEUE_COLUMNS):
            return
        key = list(QUEUE_COLUMNS)[int(column)]
        queue = key.removeprefix("count_")
        if queue in QUEUES and row["field"] in (ctx.panel.state.fields or []) and row.get(key) is not None:
            self.open_queue(ctx, row["field"], queue)
        else:
            self.show_risky(ctx, row["field"])

    def on_plates_queue_click(self, ctx):
        """A count of the plates' queue: that version's plates of that status, as patches in the grid
        and as tiles here."""
        rows, row, column = ctx.panel.state.plates_queue or [], ctx.params.get("row"), ctx.params.get("column")
        if row is None or column is None or not 0 <= int(row) < len(rows):
            return
        key = list(PLATE_QUEUE_COLUMNS)[int(column)] if 0 <= int(column) < len(PLATE_QUEUE_COLUMNS) else ""
        status, field = key.removeprefix("count_"), rows[int(row)]["field"]
        if status in FACE_STATUSES and rows[int(row)].get(key) is not None:
            self.open_queue(ctx, field, status, kind=PLATES)

    def on_row_riskiest(self, ctx):
        """The row's faces at risk, riskiest first."""
        row = _row(ctx)
        if row is not None and row["field"] in (ctx.panel.state.fields or []):
            self.open_queue(ctx, row["field"], AT_RISK)

    def on_riskiest(self, ctx):
        field = preferred_field(ctx.panel.state.fields or [], ctx.group_slice)
        if field:
            self.open_queue(ctx, field, AT_RISK)

    def on_dist_click(self, ctx):
        self.show_risky(ctx, ctx.params.get("trace") or ctx.params.get("x"))

    def on_residual_click(self, ctx):
        """A face no model can judge: its version's queue of the clicked face's status."""
        field, status = ctx.params.get("x"), ctx.params.get("trace")
        if field in (ctx.panel.state.fields or []) and status in FACE_STATUSES:
            self.open_queue(ctx, field, status)

    def on_ap_click(self, ctx):
        """Faces of the clicked size that the detector misses on the clicked version."""
        field, size = ctx.params.get("x"), ctx.params.get("trace")
        if field in [r["field"] for r in ctx.panel.state.table or []] and size in FACE_SIZES:
            key = detection_eval_key(source_dataset(ctx.dataset), field)
            self._show(ctx, field, lost_faces(ctx.dataset, field, ctx.panel.state.faces_field,
                                              size, key))

    def open_queue(self, ctx, field: str, queue: str, offset: int = 0, kind: str = FACES) -> None:
        """Show the faces (``kind`` ``PLATES``: the licence plates) of ``field`` in ``queue`` (a
        status, or ``MISSED`` for faces) as patches in the grid, and its first ones as tiles in the
        panel."""
        ctx.ops.set_view(view=_queue_view(ctx.dataset, field, queue, self._labels_field(ctx, kind), kind))
        self._draw_tiles(ctx, field, queue, offset, kind)

    def _labels_field(self, ctx, kind: str) -> str:
        return ctx.panel.state.plates_field if kind == PLATES else ctx.panel.state.faces_field

    def _draw_tiles(self, ctx, field: str, queue: str, offset: int, kind: str) -> None:
        source, labels_field = source_dataset(ctx.dataset), self._labels_field(ctx, kind)
        view = _queue_view(source, field, queue, labels_field, kind)
        total = len(view)
        offset = max(0, min(offset, (total - 1) // TILES_PAGE * TILES_PAGE)) if total else 0
        thresholds = (run_config(source, run_key(IDENTITY, field)) or {}).get("thresholds") or {}
        describe = plate_describer(field) if kind == PLATES else face_describer(field, queue, thresholds)
        tiles = queue_tiles(source, view.skip(offset).limit(TILES_PAGE), field, labels_field, describe)
        traces, layout = tiles_figure(tiles)
        ctx.panel.state.tiles = {"field": field, "queue": queue, "offset": offset, "total": total, "kind": kind,
                                 "samples": {t.face_id: t.sample_id for t in tiles}}
        ctx.panel.state.tiles_layout = layout
        ctx.panel.state.tiles_message = _tiles_message(field, queue, offset, len(tiles), total, kind)
        ctx.panel.data.tiles_plot = traces

    def _page(self, ctx, step: int) -> None:
        shown = ctx.panel.state.tiles
        if shown:
            self._draw_tiles(ctx, shown["field"], shown["queue"], shown["offset"] + step * TILES_PAGE,
                             shown.get("kind", FACES))

    def on_next_tiles(self, ctx):
        self._page(ctx, 1)

    def on_previous_tiles(self, ctx):
        self._page(ctx, -1)

    def on_close_tiles(self, ctx):
        ctx.panel.state.tiles = None

    def on_tile_click(self, ctx):
        """The clicked face's image, alone in the grid in the face's version: open it for its *Side by
        side* tab. (Opening it from here races the App loading the new view.)"""
        shown, face_id = ctx.panel.state.tiles or {}, ctx.params.get("id")
        sample_id = (shown.get("samples") or {}).get(face_id)
        if sample_id:
            grouped = ctx.dataset.media_type == "group"
            self._show(ctx, shown["field"], ctx.dataset.match(F("source_id") == sample_id) if grouped
                       else ctx.dataset.select(sample_id))

    def on_reset(self, ctx):
        ctx.panel.state.tiles = None
        self._show(ctx, ORIGINAL, ctx.dataset.view())

    def on_temporal_click(self, ctx):
        """The videos (or sequence frames) where the clicked version left a face in the clear: its
        saved view where the App shows the dataset that holds it."""
        rows, row = ctx.panel.state.temporal or [], ctx.params.get("row")
        if row is None or not 0 <= int(row) < len(rows):
            return
        field, source = rows[int(row)]["field"], source_dataset(ctx.dataset)
        if ctx.dataset.name == source.name and source.has_saved_view(leaks_view(field)):
            ctx.ops.set_view(name=leaks_view(field))
        else:
            self._show(ctx, field, self._on_screen(ctx, leaking_samples(source, field)))

    def on_leak_click(self, ctx):
        """The clicked leaking track: its frames, with only its faces."""
        table, row = str(ctx.params.get("path") or ""), ctx.params.get("row")
        fields = ctx.panel.state.leak_fields or []
        k = int(table.removeprefix("leaks_")) if table.removeprefix("leaks_").isdigit() else -1
        rows = (ctx.panel.state.get(table) or []) if 0 <= k < len(fields) else []
        if row is None or not 0 <= int(row) < len(rows):
            return
        leak, faces_field, source = rows[int(row)], ctx.panel.state.faces_field, source_dataset(ctx.dataset)
        view = leaking_track(source, leak["path"], leak["track"], leak["numbers"], faces_field)
        if ctx.dataset.name != source.name:  # the audit's copies of those images, with that track's faces
            view = mirrored(ctx.dataset, view).filter_labels(faces_field, F("index") == leak["track"])
        self._show(ctx, fields[k], view)

    def _on_screen(self, ctx, view):
        """``view`` of the source dataset as the dataset on screen holds it (an audit dataset: its
        copies of those samples)."""
        return view if ctx.dataset.name == view._dataset.name else mirrored(ctx.dataset, view)

    def render(self, ctx):
        panel = types.Object()
        panel.md(ctx.panel.state.message or "", name="intro")
        if ctx.panel.state.temporal is not None:
            self._render_over_time(panel, ctx)
        if ctx.panel.state.video:
            panel.btn("reset", label="Show all", on_click=self.on_reset, variant="outlined")
            return types.Property(panel, view=types.GridView(orientation="vertical"))
        rows = ctx.panel.state.table or []
        queue = _table(QUEUE_COLUMNS, on_click_cell=self.on_queue_click)
        queue.add_row_action("riskiest", on_click=self.on_row_riskiest, label="Faces, riskiest first",
                             rows=[r["field"] != ORIGINAL for r in rows])
        panel.list("queue", types.Object(), view=queue,
                   label="Review queue: every face has one status (click a count for its faces)")
        if ctx.panel.state.plates_queue:
            panel.list("plates_queue", types.Object(),
                       view=_table(PLATE_QUEUE_COLUMNS, on_click_cell=self.on_plates_queue_click),
                       label="Licence plates: every plate has one status (click a count for its plates)")
        if ctx.panel.state.tiles:
            self._render_tiles(panel, ctx)
        buttons = panel.h_stack("buttons", align_x="left", gap=1)
        buttons.btn("riskiest", label="Faces, riskiest first", on_click=self.on_riskiest, variant="contained")
        buttons.btn("reset", label="Show all", on_click=self.on_reset, variant="outlined")
        panel.list("privacy", types.Object(), view=_table(PRIVACY_COLUMNS, on_click_row=self.on_row_click),
                   label="Privacy: each rate over the faces it counts (judged: some model can judge the face)")
        panel.list("utility", types.Object(), view=_table(UTILITY_COLUMNS, on_click_row=self.on_row_click),
                   label="Utility: detection AP over every face; head pose, eyes, mouth and landmarks over "
                         "the faces the face mesh reads")
        panel.list("by_size", types.Object(), view=_table(SIZE_COLUMNS_TABLE),
                   label="By face size (shorter side): each rate over the faces it counts")
        _plot(panel, "dist_plot", "Closest identity distance per face, in same-person thresholds: red below 1, "
              "a model still recognises it (click: that version's faces at risk)", self.on_dist_click,
              {"yaxis": {"rangemode": "tozero"}, "shapes": [_line(1)]})
        _plot(panel, "residual_plot", "Faces no model can judge: residual similarity (red at or above "
              f"{RESIDUAL_AT_RISK}: at risk; amber: not measurable; click: that queue)", self.on_residual_click,
              {"yaxis": {"range": [0, 1.05]}, "shapes": [_line(RESIDUAL_AT_RISK)]})
        if ctx.panel.state.pose_empty:
            panel.md(f"**Head pose difference per face**: {ctx.panel.state.pose_empty}", name="pose_empty")
        else:
            _plot(panel, "pose_plot", "Head pose difference per face (degrees)", None,
                  {"yaxis": {"rangemode": "tozero"}})
        _plot(panel, "ap_plot", "Face detection AP by face size (click a bar: the faces the detector missed)",
              self.on_ap_click, {"barmode": "group", "yaxis": {"range": [0, 1]}, "showlegend": True,
                                 "legend": {"orientation": "h", "y": 1.12, "x": 0}})
        return types.Property(panel, view=types.GridView(orientation="vertical"))

    def _render_tiles(self, panel, ctx):
        """The opened queue's faces as tiles, with paging."""
        shown = ctx.panel.state.tiles
        panel.md(ctx.panel.state.tiles_message or "", name="tiles_message")
        if shown["total"]:
            panel.plot("tiles_plot", layout=ctx.panel.state.tiles_layout, on_click=self.on_tile_click,
                       config={"displaylogo": False, "displayModeBar": False, "scrollZoom": False})
        pages = panel.h_stack("tile_pages", align_x="left", gap=1)
        if shown["offset"] > 0:
            pages.btn("previous_tiles", label="◀ previous", on_click=self.on_previous_tiles, variant="outlined")
        if shown["offset"] + TILES_PAGE < shown["total"]:
            pages.btn("next_tiles", label="next ▶", on_click=self.on_next_tiles, variant="outlined")
        pages.btn("close_tiles", label="Close the tiles", on_click=self.on_close_tiles, variant="outlined")

    def _render_over_time(self, panel, ctx):
        """The versions' figures over time, then each version's leaking tracks."""
        table = types.TableView(on_click_row=self.on_temporal_click)
        for column, label in TEMPORAL_COLUMNS.items():
            table.add_column(column, label=label)
        panel.list("temporal", types.Object(), view=table,
                   label="Over time (videos, frame sequences): click a version for its clips with a face left in "
                         "the clear")
        for k, field in enumerate(ctx.panel.state.leak_fields or []):
            leaks = types.TableView(on_click_row=self.on_leak_click)
            for column, label in LEAK_COLUMNS.items():
                leaks.add_column(column, label=label)
            panel.list(f"leaks_{k}", types.Object(), view=leaks,
                       label=f"Leaking tracks in {field}: faces left in the clear (click one for its frames)")


def _row(ctx) -> dict | None:
    rows = ctx.panel.state.table or []
    row = ctx.params.get("row")
    return rows[int(row)] if row is not None and 0 <= int(row) < len(rows) else None


def _message(fields: list[str], rows: list[dict], temporal: list[dict] | None = None,
             video: bool = False) -> str:
    if not fields:
        return ("No anonymized version yet: run *Anonymize faces*, then " + (
            "`ldfa evaluate` to measure it over time." if video else
            "*Compute identity distance* and *Evaluate face detection* (or `ldfa report`)."))
    stale = [f"{r['field']} ({r['stale']})" for r in rows if r["stale"]]
    warning = (f"**Stale {'videos' if video else 'images'}**: {', '.join(stale)} were made from other faces "
               "than the dataset holds now, so their new faces are in the clear there: run *Anonymize faces* "
               "again to redo them (export refuses them until then).\n\n" if stale else "")
    if temporal is not None:
        warning += _over_time_message(temporal, video)
    if video:
        return warning
    if all(r["mAP"] is None and r["dist"] is None and r[f"count_{AT_RISK}"] is None for r in rows):
        return warning + "Not measured yet: run `ldfa evaluate` (or `ldfa report`) to fill the tables."
    return warning + (
        "Every face of a version has one status. **At risk**: some identity model still calls it the "
        "same person as the original (the strictest judge, as an attacker uses its best model), or no "
        f"model can judge it and its residual similarity is {RESIDUAL_AT_RISK} or more (much of the "
        "original is left). **Not measurable**: no model can judge it and little is left: unknown, not "
        "safe. **Replaced**: the models that can judge it call it another person, or no face is left. "
        "**Missed by detector**: faces a detector no longer finds on the version (lost for training). "
        "Click a count for those faces, as tiles here (original beside anonymized) and in the grid.")


def _over_time_message(temporal: list[dict], video: bool) -> str:
    """What the figures over time mean, and what does not apply to videos."""
    if all(r["tracks"] is None for r in temporal):
        text = ("**Over time**: not measured yet: run `ldfa evaluate --field <version>` to measure every face "
                "track's leaks, flicker and identity consistency.")
    else:
        leaking = [f"{r['field']} ({r['leaks']} face frames, {r['leaking_tracks']} tracks)" for r in temporal
                   if r["leaks"]]
        text = ((f"**Faces left in the clear**: {', '.join(leaking)}; their tracks are listed below. "
                 if leaking else "**No face left in the clear** in any measured frame. ")
                + "**leaked face frames**: a face box whose detail is still the original's (must be 0). "
                "**flicker**: mean change inside the face boxes between consecutive frames, beside the "
                "original's own motion. **new faces apart**: mean identity distance between a track's "
                "anonymized faces (one new person: small), beside **from the original** (large); over the "
                "tracks the embedder could judge.")
    if video:
        text += ("\n\nThe per-face image measures (identity distance, residual similarity, attributes, "
                 "detection AP) read still images and do not apply to videos. To watch a version, open a "
                 "video and pick it under *Media field* in the settings (gear); its *Side by side* tab shows "
                 "one frame of every version.")
    return text + "\n\n"


def _risk_plot(dataset, faces_field: str, fields: list[str]) -> list[dict]:
    """Per version a box of every face's closest distance in same-person thresholds, and again
    in red the faces at risk, so the colour is their status."""
    traces = []
    for box in _per_face_boxes(dataset, faces_field, fields, threshold_ratio):
        ratios, statuses = _face_values(dataset, faces_field, threshold_ratio(box["name"]), face_status(box["name"]))
        risky = [r for r, s in zip(ratios, statuses) if s == AT_RISK and r is not None]
        traces += [{**box, "x": [box["name"]] * len(box["y"]), "marker": {"color": COLORS["safe"]}},
                   {"type": "scatter", "mode": "markers", "name": box["name"], "x": [box["name"]] * len(risky),
                    "y": risky, "marker": {"color": COLORS["risky"], "size": 9}}]
    return traces


def _residual_plot(dataset, faces_field: str, fields: list[str]) -> list[dict]:
    """Per version the residual similarity of each face no model can judge, one trace per status
    (named by it: a click opens that queue), coloured as the side by side colours it."""
    found: dict[str, tuple[list, list]] = {status: ([], []) for status in (AT_RISK, NOT_MEASURABLE)}
    for field in fields:
        kept, verdicts, statuses = _face_values(dataset, faces_field, residual(field), same_person(field),
                                                face_status(field))
        for value, verdict, status in zip(kept, verdicts, statuses):
            if verdict is None and value is not None and status in found:
                found[status][0].append(field)
                found[status][1].append(value)
    return [{"type": "box", "name": status, "x": x, "y": y, "boxpoints": "all", "jitter": 0.6, "pointpos": 0,
             "fillcolor": "rgba(0,0,0,0)", "line": {"width": 0}, "marker": {"color": status_color(status), "size": 6},
             "hoverinfo": "y"} for status, (x, y) in found.items() if x]


def _face_values(dataset, faces_field: str, *names: str) -> list[list]:
    """Per-face values of ``names`` (face attributes), in one order; None where never written."""
    paths = [f"{faces_field}.detections.{name}" for name in names]
    count = len(dataset.values(f"{faces_field}.detections.id", unwind=True))
    return [dataset.values(p, unwind=True) if dataset.has_field(p) else [None] * count for p in paths]


def _pose_missing(dataset, fields: list[str]) -> str:
    """Why no version has a head pose difference to plot, in words."""
    reasons = []
    for field in fields:
        found = run_results(dataset, run_key(ATTRIBUTES, field))
        if found is None:
            reasons.append(f"{field}: not measured (`ldfa evaluate`)")
        else:
            reasons.append(f"{field}: no face of {found.get('min_face_px', MIN_FACE_PX)} px or more was read by "
                           f"the face mesh in both versions ({found.get('not_measurable', 0)} of {found['faces']} "
                           f"faces are smaller or unread on the original, {found.get('no_face_left', 0)} have no "
                           "face left)")
    return "nothing to plot. " + "; ".join(reasons) + "." if reasons else "no anonymized version yet."


def _queue_view(collection, field: str, queue: str, labels_field: str, kind: str = FACES):
    """Patches of ``field``'s faces (``kind`` ``PLATES``: its licence plates) of ``labels_field`` in
    ``queue``: a status (riskiest first), or the detector's misses."""
    if kind == PLATES:
        return plates_with_status(collection, field, queue, labels_field)
    if queue == MISSED:
        version = collection.select_group_slices(field) if collection.media_type == "group" else collection
        return lost_faces(version, field, labels_field, eval_key=detection_eval_key(collection, field)).to_patches(
            labels_field)
    return faces_with_status(collection, field, queue, labels_field)


# what a queue's tiles are, per kind: the noun, the order of each status's queue, the numbers shown
TILE_WORDS = {
    FACES: ("face", {AT_RISK: "riskiest first", NOT_MEASURABLE: "most of the original left first"},
            "the numbers that decided it"),
    PLATES: ("plate", {AT_RISK: "most text read first", NOT_MEASURABLE: "least changed first"},
             "how much of the plate changed, and the text OCR reads before → after"),
}


def _tiles_message(field: str, queue: str, offset: int, shown: int, total: int, kind: str = FACES) -> str:
    noun, orders, numbers = TILE_WORDS[kind]
    words = "missed by the detector" if queue == MISSED else STATUS_WORDS[queue]
    heading = f"{field}, {words}" if kind == FACES else f"{field}, {noun}s {words}"
    if not total:
        return f"**{heading}**: no {noun}."
    order = f", {orders[queue]}" if queue in orders else ""
    return (f"**{heading}**: {noun}s {offset + 1}-{offset + shown} of {total}{order} (the grid beside holds "
            f"them all). Each tile: the original (left) beside {field} (right), the {noun} drawn at least "
            f"{TILE_FACE_PX} px; its status and {numbers}. Hover a tile for every fact; click it "
            "for its image in the grid (open it: its *Side by side* tab compares every version).")


def _table(columns: dict[str, str], **events) -> types.TableView:
    table = types.TableView(**events)
    for column, label in columns.items():
        table.add_column(column, label=label)
    return table


def _plot(panel, name: str, title: str, on_click, layout: dict) -> None:
    """A plot under its title in words (Plotly's own title overlaps its tool bar in a narrow panel),
    as wide as the panel."""
    panel.md(f"**{title}**", name=f"{name}_title")
    panel.plot(name, **({"on_click": on_click} if on_click else {}),
               config={"displaylogo": False, "responsive": True},
               layout={"height": 300, "autosize": True, "showlegend": False,
                       "margin": {"t": 30, "l": 40, "r": 10, "b": 30}, **layout})


def _line(y: float) -> dict:
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
            "line": {"dash": "dash", "color": "grey"}}


def _per_face_boxes(dataset, faces_field: str, fields: list[str], figure) -> list[dict]:
    """One box plot per version of a per-face figure (``figure(field)`` names it), where measured."""
    boxes = []
    for field in fields:
        key = f"{faces_field}.detections.{figure(field)}"
        if dataset.has_field(key):
            boxes.append({"type": "box", "name": field, "boxpoints": "all",
                          "y": [v for v in dataset.values(key, unwind=True) if v is not None]})
    return boxes
