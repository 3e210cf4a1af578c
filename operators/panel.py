"""The "Anonymization audit" panel: the report's table and plots; a click filters the grid.

It reads recorded runs only (it never starts a computation), so it opens instantly. On the
grouped audit dataset a click also switches the grid to the slice of the version clicked, so
the grid shows the anonymized faces themselves. Videos and frame sequences get the figures over
time of each version (leaks, flicker, identity consistency) and, per version, its leaking tracks;
a video dataset shows those alone, since the per-face image measures read still images.
"""

from __future__ import annotations

import os

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone import ViewField as F

from ldfa.operators.layout import AUDIT_PANEL, preferred_field
from ldfa.operators.side_by_side import COLORS
from ldfa.plugin.audit.dataset import source_dataset
from ldfa.plugin.audit.views import (
    FACE_SIZES,
    detection_eval_key,
    embedder_of,
    leaking_samples,
    leaking_track,
    leaks_view,
    lost_faces,
    mirrored,
    over_time,
    riskiest_faces,
    risky_faces,
    temporal_results,
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
# the figures over time of videos and frame sequences (``ldfa.plugin.metrics.temporal``)
TEMPORAL_COLUMNS = {"field": "version", "clips": "clips", "frames": "frames", "tracks": "face tracks",
                    "leaks": "leaked face frames (must be 0)", "leaking_tracks": "leaking tracks",
                    "failed": "clips not measured", "stale": "stale", "flicker": "flicker ↓",
                    "flicker_original": "flicker, original", "same_new": "new faces apart ↓",
                    "to_original": "from the original ↑", "judged": "tracks judged"}
LEAK_COLUMNS = {"clip": "clip", "track": "track", "count": "frames leaked", "frames": "frame numbers"}


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
        rows.append(_rounded(row))
    return rows


def temporal_rows(dataset) -> list[dict]:
    """Per anonymized version, the totals of its temporal run (None where it never ran): leaks,
    flicker beside the original's, identity consistency (a track's new faces apart, and from the
    original; over the tracks the embedder could judge)."""
    rows = []
    for field, method in anonymized_fields(dataset).items():
        t = temporal_results(dataset, field) or {}
        leaks, flicker, same = t.get("leaks") or {}, t.get("flicker") or {}, t.get("consistency") or {}
        rows.append(_rounded({
            "field": field, "method": method, "clips": t.get("clips"), "frames": t.get("frames"),
            "tracks": t.get("tracks"), "failed": len(t["failed"]) if "failed" in t else None,
            "stale": len(stale_samples(dataset, field)), "leaks": leaks.get("total"),
            "leaking_tracks": len(leaks["tracks"]) if "tracks" in leaks else None,
            "flicker": flicker.get("anonymized"), "flicker_original": flicker.get("original"),
            "same_new": same.get("anonymized"), "to_original": same.get("to_original"),
            "judged": f"{same['judged']} of {same['tracks']}" if same else None,
            "embedder": same.get("embedder")}))
    return rows


def leak_rows(dataset, field: str) -> list[dict]:
    """Every track version ``field`` left in the clear somewhere, with the frames where it did."""
    video = dataset.media_type == "video"
    return [{"clip": os.path.basename(t["clip"]) if video else t["clip"], "path": t["clip"],
             "track": t["track"], "count": len(t["frames"]), "frames": _spans(t["frames"]),
             "numbers": t["frames"]}
            for t in ((temporal_results(dataset, field) or {}).get("leaks") or {}).get("tracks", [])]


def _spans(numbers: list[int]) -> str:
    """Frame numbers as runs: ``[3, 4, 5, 9]`` -> ``3-5, 9``."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _rounded(row: dict) -> dict:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}


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
        ctx.panel.state.by_size = [_rounded(r) for r in size_table(dataset, rows)]
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
