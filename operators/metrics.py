"""Metric operators: identity distance, detection utility, the identity guard and licence plates in the App.

Each measures one anonymized version (``field``); the faces (and plates) are those its
anonymization run replaced, read from the run's record.
"""

from __future__ import annotations

import fiftyone as fo
import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.common import call_operator, engine_of, heavy_config, progress_reporter, resolve_delegation
from ldfa.operators.forms import add_inputs, dropdown, given, version_input
from ldfa.plugin.audit.views import save_audit_views
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.guard.config import GuardConfig
from ldfa.plugin.models.detector.config import BACKEND_NAMES, DEFAULT_BACKEND
from ldfa.plugin.models.embedders import DEFAULT_EMBEDDERS, EMBEDDERS
from ldfa.plugin.runs import run_config
from ldfa.plugin.schema import ANONYMIZE, run_key


class ComputeIdentityDistance(foo.Operator):
    """Wraps :func:`ldfa.compute_identity_distance`: per-face distances, re-id rate."""

    @property
    def config(self):
        return heavy_config("compute_identity_distance", "Compute identity distance",
                            "FaceNet and dlib distance of each face to its anonymized version")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Measure")
        version_input(ctx, inputs)
        inputs.list("embedders", types.String(), default=list(DEFAULT_EMBEDDERS), label="Embedders",
                    view=types.AutocompleteView(choices=[types.Choice(n, label=n) for n in EMBEDDERS]))
        return types.Property(inputs, view=types.View(label="Identity distance"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        from ldfa.plugin.metrics.identity import compute_identity_distance

        p = ctx.params
        stats = compute_identity_distance(ctx.target_view(), p["field"],
                                          embedders=p.get("embedders") or DEFAULT_EMBEDDERS,
                                          progress=progress_reporter(ctx), engine=engine_of(ctx))
        save_audit_views(ctx.dataset)
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        verdict = stats.pop("verdict")
        return {"embedders": stats, "verdict": verdict}

    def __call__(self, sample_collection, field, embedders=DEFAULT_EMBEDDERS, delegate=False):
        params = dict(field=field, embedders=list(embedders))
        return call_operator(self, sample_collection, params, delegate)


class EvaluateFaceDetection(foo.Operator):
    """Wraps :func:`ldfa.evaluate_face_detection`: COCO mAP by size + App TP/FP/FN."""

    @property
    def config(self):
        return heavy_config("evaluate_face_detection", "Evaluate face detection",
                            "Detect faces on anonymized images and score them (COCO mAP by size)")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Evaluate")
        version_input(ctx, inputs)
        inputs.enum("detector", list(BACKEND_NAMES), default=DEFAULT_BACKEND,
                    view=dropdown(BACKEND_NAMES), label="Detector")
        return types.Property(inputs, view=types.View(label="Detection utility"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        from ldfa.plugin.metrics.evaluation import evaluate_face_detection

        p = ctx.params
        scores = evaluate_face_detection(ctx.target_view(), p["field"],
                                         detector=p.get("detector", DEFAULT_BACKEND),
                                         progress=progress_reporter(ctx))
        save_audit_views(ctx.dataset)
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return scores

    def __call__(self, sample_collection, field, detector=DEFAULT_BACKEND, delegate=False):
        params = dict(field=field, detector=detector)
        return call_operator(self, sample_collection, params, delegate)


class GuardIdentity(foo.Operator):
    """Wraps :func:`ldfa.guard_identity` for the selected faces (or all faces of the view)."""

    @property
    def config(self):
        return heavy_config("guard_identity", "Identity guard",
                            "Re-anonymize faces still recognisable; tag the rest needs_review")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Guard")
        version_input(ctx, inputs)
        add_inputs(inputs, GuardConfig)
        return types.Property(inputs, view=types.View(label="Identity guard"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        from ldfa.plugin.guard.identity import guard_identity

        p = ctx.params
        selected = [label["label_id"] for label in (ctx.selected_labels or [])] or p.get("face_ids")
        result = guard_identity(ctx.target_view(), p["field"], face_ids=selected,
                                progress=progress_reporter(ctx), engine=engine_of(ctx),
                                **given(p, GuardConfig))
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return result

    def __call__(self, sample_collection, field, face_ids=None, max_tries=GuardConfig.max_tries,
                 delegate=False):
        params = dict(field=field, face_ids=face_ids, max_tries=max_tries)
        return call_operator(self, sample_collection, params, delegate)


class MeasurePlates(foo.Operator):
    """Wraps :func:`ldfa.plugin.metrics.plates.measure_plates`: per licence plate its cover, OCR text
    before and after, and review status; with labelled plates, the detector's recall."""

    @property
    def config(self):
        return heavy_config("measure_plates", "Measure licence plates",
                            "Share of each plate replaced, and whether OCR still reads its text")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Measure")
        version_input(ctx, inputs)
        labelled = sorted(name for name in ctx.dataset.get_field_schema(embedded_doc_type=fo.Detections)
                          if name != _plates_field(ctx.dataset, ctx.params.get("field")))
        inputs.enum("gt_field", labelled, view=dropdown(labelled), label="Labelled plates",
                    description="Optional Detections field of labelled licence plates (only plates): "
                                "the detector's recall against them, and their cover and leaks")
        return types.Property(inputs, view=types.View(label="Licence plates"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        from ldfa.plugin.metrics.plates import measure_plates

        p = ctx.params
        plates_field = _plates_field(ctx.dataset, p["field"])
        if plates_field is None:
            raise ConfigError(f"the anonymization of '{p['field']}' replaced no licence plates: detect "
                              "plates (Licence plates too), anonymize again, then measure")
        summary = measure_plates(ctx.target_view(), p["field"], plates_field=plates_field,
                                 gt_field=p.get("gt_field") or None, progress=progress_reporter(ctx),
                                 engine=engine_of(ctx))
        save_audit_views(ctx.dataset)
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return dict(summary)

    def __call__(self, sample_collection, field, gt_field=None, delegate=False):
        params = dict(field=field, gt_field=gt_field)
        return call_operator(self, sample_collection, params, delegate)


def _plates_field(dataset, field: str | None) -> str | None:
    """The Detections field of the plates version ``field``'s anonymization replaced, per its record."""
    return (run_config(dataset, run_key(ANONYMIZE, field)) or {}).get("plates_field") if field else None
