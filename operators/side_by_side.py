"""The "Side by side" panel of the sample view: every version of the open image, zoomed together.

Opened next to the App's sample view (modal), it shows the original and each anonymized version
of the current sample in one Plotly figure: the files are drawn at full resolution, every face
box on every version, coloured by the face's review status (``ldfa.plugin.schema.face_status``: red
at risk, green replaced, amber not measurable), with its closest identity distance, in same-person
thresholds, written on it (or, for a face no model can judge, its residual similarity).
All versions share their axes, so zooming into a face on one zooms into the same face on all.
Clicking a face selects it (the App's label selection); the buttons tag the selected faces (or
all faces of the image when none is selected) or redo them with a new seed, and the new face
appears in place.

A video shows one frame of every version, the same frame number, decoded exactly
(``ldfa.plugin.audit.frames``), with its face boxes labelled by track and coloured by the
version's temporal run: red where that track was left in the clear in this frame. A slider and
buttons step through the frames, and *Next leak* jumps to the next frame where a version leaks.
(A panel cannot follow the App's own video player: FiftyOne 1.22 tells panels no frame changes.)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from urllib.parse import quote

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.layout import SIDE_BY_SIDE_PANEL, preferred_field
from ldfa.plugin.audit.dataset import source_dataset
from ldfa.plugin.audit.frames import frame_image
from ldfa.plugin.audit.review import tag_faces
from ldfa.plugin.audit.views import clip_leaks
from ldfa.plugin.errors import ImageError
from ldfa.plugin.geometry.boxes import to_corners
from ldfa.plugin.guard.redo import redo_faces
from ldfa.plugin.io.images import display_size
from ldfa.plugin.io.video import probe
from ldfa.plugin.metrics.verdict import RESIDUAL_AT_RISK
from ldfa.plugin.runs import anonymized_fields, faces_field_of
from ldfa.plugin.schema import (
    APPROVED,
    AT_RISK,
    FACE_FACTS,
    NEEDS_REVIEW,
    NOT_MEASURABLE,
    ORIGINAL,
    REPLACED,
    face_status,
    residual,
    threshold_ratio,
)

# (face, its number in the image, version) -> (box colour, label, hover text)
Mark = Callable[[object, int, str], tuple[str, str, str]]

COLUMNS = 2
ROW_HEIGHT_PX = 420
# "unmeasured": no model can judge the face and little of it remains (not measurable: unknown,
# not safe), apart from "safe" (replaced, solid's "no face left" included) and from grey, never measured
COLORS = {ORIGINAL: "#00bcd4", "risky": "#f44336", "safe": "#4caf50", "unmeasured": "#ff9800",
          "not_measured": "#9e9e9e", "selected": "#ffeb3b"}
STATUS_COLORS = {AT_RISK: COLORS["risky"], REPLACED: COLORS["safe"], NOT_MEASURABLE: COLORS["unmeasured"]}


def media_url(path: str) -> str:
    """The App server's URL of a local file; the mtime makes the browser fetch a redone file."""
    try:
        version = os.stat(path).st_mtime_ns
    except OSError:
        version = 0
    return f"/media?filepath={quote(path, safe='')}&v={version}"


def _attr(face, key: str):
    return face[key] if face.has_field(key) else None


def status_color(status: str | None) -> str:
    """The colour of a review status (grey: the face was never measured)."""
    return STATUS_COLORS.get(status, COLORS["not_measured"])


def status_label(face, field: str) -> tuple[str, str]:
    """(colour, short label) of a face in version ``field``: its closest identity distance in
    same-person thresholds where a model measured one, else what decided its status in words."""
    status, ratio, kept = (_attr(face, name(field)) for name in (face_status, threshold_ratio, residual))
    if ratio is not None:
        label = f"{ratio:.2f}"
    elif status == AT_RISK:
        label = f"residual {kept:.2f}" if kept is not None else "same person"
    else:
        label = {NOT_MEASURABLE: "not measurable", REPLACED: "no face left"}.get(status, "not measured")
    return status_color(status), label


def face_hover(face, number: int, field: str) -> str:
    """What a reviewer wants to know about one face in one version."""
    lines = [f"face {number} · {field}"]
    if field != ORIGINAL:
        for key in sorted(face.field_names):
            if key.startswith(f"{field}_") and key.endswith(("_dist", "_reason", "_residual", "_status",
                                                           "_same_person", "_threshold_ratio",
                                                           *(f"_{f}" for f in FACE_FACTS))):
                value = face[key]
                if value is not None:
                    shown = f"{value:.3f}" if isinstance(value, float) else value
                    lines.append(f"{key[len(field) + 1:]}: {shown}")
    if face.tags:
        lines.append("tags: " + ", ".join(face.tags))
    return "<br>".join(lines)


def track_hover(face, field: str, leaked: bool | None) -> str:
    """What a reviewer wants to know about one face of a video frame in one version."""
    lines = [f"track {face.index} · {field}", f"found by: {_attr(face, 'source') or 'n/a'}"]
    if face.confidence is not None:
        lines.append(f"score: {face.confidence:.2f}")
    if field != ORIGINAL:
        lines.append({True: "LEFT IN THE CLEAR in this frame", False: "replaced",
                      None: "not measured over time"}[leaked])
    if face.tags:
        lines.append("tags: " + ", ".join(face.tags))
    return "<br>".join(lines)


def image_figure(sample, fields: list[str], selected: set[str], faces_field: str) -> tuple[list[dict], dict]:
    """Plotly (traces, layout) of image ``sample``'s original and each version in ``fields``."""
    versions = [(ORIGINAL, sample.filepath)] + [(f, sample[f]) for f in fields if sample[f]]

    def mark(face, number: int, field: str):
        color, label = (COLORS[ORIGINAL], str(number)) if field == ORIGINAL else status_label(face, field)
        return color, label, face_hover(face, number, field)

    faces = sample[faces_field].detections if sample[faces_field] else []
    return figure([(f, media_url(path)) for f, path in versions], display_size(sample.filepath), faces,
                  selected, mark)


def frame_figure(source, sample, fields: list[str], number: int, selected: set[str],
                 faces_field: str) -> tuple[list[dict], dict]:
    """Plotly (traces, layout) of frame ``number`` of video ``sample``: the original and each version
    in ``fields``, faces labelled by track, red where the version's temporal run found the track left
    in the clear in this frame (grey: no temporal run)."""
    versions = [(ORIGINAL, sample.filepath)] + [(f, sample[f]) for f in fields if sample[f]]
    leaks = {f: clip_leaks(source, f, sample.filepath) for f in fields}

    def mark(face, _: int, field: str):
        frames = leaks.get(field)
        leaked = None if frames is None else face.index in frames.get(number, ())
        color = COLORS[ORIGINAL] if field == ORIGINAL else COLORS[
            {True: "risky", False: "safe", None: "not_measured"}[leaked]]
        return color, f"#{face.index}", track_hover(face, field, leaked)

    urls = [(f, media_url(str(frame_image(path, number)))) for f, path in versions]
    return figure(urls, video_size(sample), faces_of(sample, faces_field, number), selected, mark)


def faces_of(sample, faces_field: str, number: int | None = None) -> list:
    """The faces of an image sample, or of frame ``number`` of a video sample."""
    holder = sample if number is None else sample.frames[number] if number in sample.frames else None
    return holder[faces_field].detections if holder is not None and holder[faces_field] else []


def video_size(sample) -> tuple[int, int]:
    """A video's displayed (width, height): its metadata, else PyAV's probe."""
    meta = sample.metadata
    if meta is not None and meta.frame_width and meta.frame_height:
        return meta.frame_width, meta.frame_height
    info = probe(sample.filepath)
    return info.width, info.height


def frame_count(sample) -> int:
    """A video's frame count: its metadata, else PyAV's probe."""
    meta = sample.metadata
    return meta.total_frame_count if meta is not None and meta.total_frame_count else probe(sample.filepath).frames


def figure(versions: list[tuple[str, str]], size: tuple[int, int], faces: list, selected: set[str],
           mark: Mark) -> tuple[list[dict], dict]:
    """Plotly (traces, layout) of the pictures ``versions`` ((version, URL): the original first), all
    ``size`` pixels, with ``faces`` drawn on each as ``mark`` says."""
    width, height = size
    rows = math.ceil(len(versions) / COLUMNS)
    columns = min(COLUMNS, len(versions))
    traces, images, titles, axes = [], [], [], {}
    for k, (field, path) in enumerate(versions):
        x, y = ("x", "y") if k == 0 else (f"x{k + 1}", f"y{k + 1}")
        row, col = divmod(k, columns)
        x_domain = [col / columns + 0.01, (col + 1) / columns - 0.01]
        y_domain = [1 - (row + 1) / rows + 0.02, 1 - row / rows - 0.05]
        axes[f"xaxis{'' if k == 0 else k + 1}"] = {
            "domain": x_domain, "range": [0, width], "visible": False, "anchor": y,
            **({} if k == 0 else {"matches": "x"})}
        axes[f"yaxis{'' if k == 0 else k + 1}"] = {
            "domain": y_domain, "range": [height, 0], "visible": False, "anchor": x,
            **({"scaleanchor": "x"} if k == 0 else {"matches": "y"})}
        images.append({"source": path, "xref": x, "yref": y, "x": 0, "y": 0,
                       "sizex": width, "sizey": height, "sizing": "stretch", "layer": "below",
                       "xanchor": "left", "yanchor": "top"})
        titles.append({"text": field, "xref": "paper", "yref": "paper", "showarrow": False,
                       "x": sum(x_domain) / 2, "y": y_domain[1] + 0.01, "yanchor": "bottom",
                       "font": {"size": 14}})
        for number, face in enumerate(faces, start=1):
            x1, y1, x2, y2 = to_corners(face.bounding_box, width, height)
            color, label, hover = mark(face, number, field)
            color = COLORS["selected"] if face.id in selected else color
            traces.append({"type": "scatter", "mode": "lines", "xaxis": x, "yaxis": y,
                           "x": [x1, x2, x2, x1, x1], "y": [y1, y1, y2, y2, y1],
                           "line": {"color": color, "width": 3 if face.id in selected else 2},
                           "hoverinfo": "skip", "showlegend": False})
            traces.append({"type": "scatter", "mode": "markers+text", "xaxis": x, "yaxis": y,
                           "x": [x1], "y": [y1], "ids": [face.id], "text": [label],
                           "textposition": "top right", "textfont": {"color": color, "size": 15},
                           "marker": {"color": color, "size": 10, "symbol": "square"},
                           "hovertext": [hover], "hoverinfo": "text",
                           "name": field, "showlegend": False})
    layout = {"height": rows * ROW_HEIGHT_PX, "margin": {"l": 0, "r": 0, "t": 24, "b": 0},
              "dragmode": "zoom", "hovermode": "closest", "images": images,
              "annotations": titles, "paper_bgcolor": "rgba(0,0,0,0)",
              "plot_bgcolor": "rgba(0,0,0,0)", **axes}
    return traces, layout


class SideBySide(foo.Panel):
    """Original and every anonymized version of the open sample, with review buttons."""

    @property
    def config(self):
        return foo.PanelConfig(name=SIDE_BY_SIDE_PANEL, label="Side by side", icon="compare",
                               surfaces="modal",
                               help_markdown="The original and each anonymized version, zoomed "
                                             "together. Red: at risk; green: replaced; amber: not "
                                             "measurable. Click a face to select it.")

    def on_load(self, ctx):
        self._refresh(ctx)

    def on_change_current_sample(self, ctx):
        ctx.panel.state.frame = 1
        self._refresh(ctx)

    def on_change_selected_labels(self, ctx):
        self._refresh(ctx)

    def _source_sample(self, ctx):
        if not ctx.current_sample:
            return None, None
        source = source_dataset(ctx.dataset)
        sample = ctx.dataset[ctx.current_sample]
        if source.name != ctx.dataset.name:  # an audit slice: show its source sample
            sample = source[sample.source_id]
        return source, sample

    def _faces_of_sample(self, ctx) -> tuple[list[str], list[str]]:
        """(all face ids of the open image, the selected ones among them)."""
        faces = ctx.panel.state.face_ids or []
        chosen = {label["label_id"] for label in ctx.selected_labels or []}
        return faces, [f for f in faces if f in chosen]

    def _refresh(self, ctx):
        source, sample = self._source_sample(ctx)
        if sample is None:
            ctx.panel.state.layout = None
            ctx.panel.state.message = "Open a sample to compare its versions."
            return
        fields = list(anonymized_fields(source))
        faces_field = ctx.panel.state.faces_field = faces_field_of(source)
        video = ctx.panel.state.video = sample.media_type == "video"
        try:
            number = self._frame(ctx, source, sample, fields) if video else None
            ctx.panel.state.face_ids = [f.id for f in faces_of(sample, faces_field, number)]
            _, selected = self._faces_of_sample(ctx)
            traces, layout = (frame_figure(source, sample, fields, number, set(selected), faces_field) if video
                              else image_figure(sample, fields, set(selected), faces_field))
        except ImageError as e:
            ctx.panel.state.layout = None
            ctx.panel.state.message = f"Cannot show this sample: {e}"
            return
        ctx.panel.state.fields = fields
        if ctx.panel.state.field not in fields:
            ctx.panel.state.field = preferred_field(fields, ctx.group_slice)
        ctx.panel.state.layout = layout
        ctx.panel.data.figure = traces
        faces = len(ctx.panel.state.face_ids)
        if video:
            ctx.panel.state.message = _frame_message(sample, number, ctx.panel.state.frames, faces, fields,
                                                     len(selected), ctx.panel.state.leak_frames)
            return
        ctx.panel.state.message = (
            f"**{os.path.basename(sample.filepath)}**: {faces} face(s), {len(fields)} anonymized "
            f"version(s), {len(selected)} selected (the buttons act on the selected faces, or on "
            f"all faces of this image when none is). Numbers: the closest identity distance to "
            "the original face of any model, in units of its same-person threshold. **Red, at risk**: "
            "a model still calls it the same person (below 1), or no model can judge it and much of "
            f"the original is left (residual similarity {RESIDUAL_AT_RISK} or more); **green, replaced**: "
            "every model that can judge it calls it another person, or no face is left; **amber, not "
            "measurable**: no model can judge it and little of the original is left (unknown, not "
            "safe); grey: not measured. Drag to zoom all versions together; double-click to reset.")

    def _frame(self, ctx, source, sample, fields: list[str]) -> int:
        """The frame shown (kept within the video) and what the frame controls need: the frame count
        and the frames where any version left a face in the clear."""
        total = ctx.panel.state.frames = frame_count(sample)
        ctx.panel.state.frame = min(max(int(ctx.panel.state.frame or 1), 1), total)
        leaks = [clip_leaks(source, f, sample.filepath) or {} for f in fields]
        ctx.panel.state.leak_frames = sorted(set().union(*leaks))
        return ctx.panel.state.frame

    def _go_to(self, ctx, number: int | None):
        if number is not None:
            ctx.panel.state.frame = number
            self._refresh(ctx)

    def on_frame_change(self, ctx):
        self._go_to(ctx, ctx.params.get("value"))

    def on_previous_frame(self, ctx):
        self._go_to(ctx, (ctx.panel.state.frame or 1) - 1)

    def on_next_frame(self, ctx):
        self._go_to(ctx, (ctx.panel.state.frame or 1) + 1)

    def on_next_leak(self, ctx):
        """The next frame where a version left a face in the clear (after the last, the first)."""
        leaks, now = ctx.panel.state.leak_frames or [], ctx.panel.state.frame or 1
        self._go_to(ctx, next((n for n in leaks if n > now), leaks[0] if leaks else None))

    def _targets(self, ctx) -> list[str]:
        faces, selected = self._faces_of_sample(ctx)
        return selected or faces

    def on_face_click(self, ctx):
        """Toggle the clicked face in the App's label selection."""
        face_id = ctx.params.get("id")
        if not face_id:
            return
        labels = [label for label in ctx.selected_labels or [] if label["label_id"] != face_id]
        if len(labels) == len(ctx.selected_labels or []):
            field = ctx.panel.state.faces_field
            labels.append({"label_id": face_id, "sample_id": ctx.current_sample, "field": field}
                          if not ctx.panel.state.video else
                          {"label_id": face_id, "sample_id": ctx.current_sample, "field": f"frames.{field}",
                           "frame_number": ctx.panel.state.frame})
        ctx.ops.set_selected_labels(labels)

    def on_field_change(self, ctx):
        ctx.panel.state.field = ctx.params.get("value")

    def _tag(self, ctx, tag: str):
        tagged = tag_faces(ctx.dataset, self._targets(ctx), tag, ctx.panel.state.faces_field)
        ctx.ops.notify(f"{tagged} face(s) tagged {tag}")
        self._refresh(ctx)

    def on_approve(self, ctx):
        self._tag(ctx, APPROVED)

    def on_needs_review(self, ctx):
        self._tag(ctx, NEEDS_REVIEW)

    def on_redo(self, ctx):
        field, faces = ctx.panel.state.field, self._targets(ctx)
        if not field or not faces or ctx.panel.state.video:  # a video is redone whole: Anonymize faces
            return
        summary = redo_faces(ctx.dataset, field, faces)
        ctx.ops.notify(f"{summary.written} image(s) rewritten: {len(faces)} face(s) redone in {field}")
        self._refresh(ctx)
        ctx.ops.reload_samples()

    def render(self, ctx):
        panel = types.Object()
        panel.md(ctx.panel.state.message or "", name="message")
        if ctx.panel.state.layout is None:
            return types.Property(panel, view=types.GridView(orientation="vertical"))
        if ctx.panel.state.video:
            frames = panel.h_stack("frames", align_x="left", gap=1)
            frames.btn("previous", label="◀ frame", on_click=self.on_previous_frame, variant="outlined")
            frames.btn("next", label="frame ▶", on_click=self.on_next_frame, variant="outlined")
            frames.btn("next_leak", label="Next leak", on_click=self.on_next_leak, variant="outlined")
            panel.int("frame", min=1, max=ctx.panel.state.frames, label="Frame", view=types.SliderView(),
                      on_change=self.on_frame_change)
        bar = panel.h_stack("actions", align_x="left", gap=1)
        bar.btn("approve", label="Approve", on_click=self.on_approve, variant="contained")
        bar.btn("needs_review", label="Needs review", on_click=self.on_needs_review,
                variant="outlined")
        if ctx.panel.state.video:
            panel.plot("figure", layout=ctx.panel.state.layout, on_click=self.on_face_click,
                       config={"scrollZoom": True, "displaylogo": False})
            return types.Property(panel, view=types.GridView(orientation="vertical"))
        bar.enum("field", ctx.panel.state.fields or [], default=ctx.panel.state.field, label="Version to redo",
                 view=types.DropdownView(), on_change=self.on_field_change)
        bar.btn("redo", label="Re-anonymize (new seed)", on_click=self.on_redo, variant="outlined")
        panel.plot("figure", layout=ctx.panel.state.layout, on_click=self.on_face_click,
                   config={"scrollZoom": True, "displaylogo": False})
        return types.Property(panel, view=types.GridView(orientation="vertical"))


def _frame_message(sample, number: int, total: int, faces: int, fields: list[str], selected: int,
                   leak_frames: list[int]) -> str:
    leaks = (f"Faces left in the clear at frame(s) {', '.join(map(str, leak_frames))} (*Next leak* goes there)."
             if leak_frames else "No version leaks a face in this video (or none was measured over time).")
    return (f"**{os.path.basename(sample.filepath)}**, frame {number} of {total}: {faces} face(s), {len(fields)} "
            f"anonymized version(s), {selected} selected (the buttons act on the selected faces, or on all faces "
            f"of this frame when none is). {leaks} Each box is labelled with its track; red: that version left "
            "the face in the clear in this frame; green: replaced; grey: the version was not measured over time "
            "(`ldfa evaluate`). To play a version, pick it under *Media field* in the settings (gear). A face of a "
            "video is redone by anonymizing the video again (*Anonymize faces*).")
