"""Metric operators: identity distance, detection utility and the identity guard in the App."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.common import call_operator, heavy_config, progress_reporter, resolve_delegation
from ldfa.plugin.audit import save_audit_views
from ldfa.plugin.detection_config import BACKEND_NAMES, DEFAULT_BACKEND
from ldfa.plugin.report import anonymized_fields


def _field_input(ctx, inputs, name="anon_field", label="Anonymized field"):
    fields = anonymized_fields(ctx.dataset)
    choices = types.Dropdown()
    for field, method in fields.items():
        choices.add_choice(field, label=f"{field} ({method})")
    inputs.enum(name, choices.values(), required=True, view=choices, label=label,
                default=next(iter(fields), None))


class ComputeIdentityDistance(foo.Operator):
    """Wraps :func:`ldfa.compute_identity_distance`: per-face distances, re-id rate."""

    @property
    def config(self):
        return heavy_config("compute_identity_distance", "Compute identity distance",
                      "FaceNet and dlib distance of each face to its anonymized version")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Measure")
        _field_input(ctx, inputs)
        inputs.str("faces_field", default="faces", label="Faces field")
        inputs.list("embedders", types.String(), default=["facenet", "dlib"], label="Embedders")
        return types.Property(inputs, view=types.View(label="Identity distance"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        from ldfa.plugin.identity import compute_identity_distance

        p = ctx.params
        stats = compute_identity_distance(
            ctx.target_view(), p["anon_field"], faces_field=p.get("faces_field", "faces"),
            embedders=p.get("embedders") or ["facenet", "dlib"], progress=progress_reporter(ctx))
        save_audit_views(ctx.dataset, faces_field=p.get("faces_field", "faces"))
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return {"embedders": stats}

    def __call__(self, sample_collection, anon_field, faces_field="faces",
                 embedders=("facenet", "dlib"), delegate=False):
        params = dict(anon_field=anon_field, faces_field=faces_field, embedders=list(embedders))
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
        _field_input(ctx, inputs)
        inputs.str("gt_field", default="faces", label="Ground-truth field")
        choices = types.Dropdown()
        for name in BACKEND_NAMES:
            choices.add_choice(name, label=name)
        inputs.enum("detector", choices.values(), default=DEFAULT_BACKEND, view=choices,
                    label="Detector")
        return types.Property(inputs, view=types.View(label="Detection utility"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        from ldfa.plugin.evaluation import evaluate_face_detection

        p = ctx.params
        scores = evaluate_face_detection(
            ctx.target_view(), p["anon_field"], gt_field=p.get("gt_field", "faces"),
            detector=p.get("detector", DEFAULT_BACKEND), progress=progress_reporter(ctx))
        save_audit_views(ctx.dataset, faces_field=p.get("gt_field", "faces"))
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return scores

    def __call__(self, sample_collection, anon_field, gt_field="faces", detector=DEFAULT_BACKEND,
                 delegate=False):
        params = dict(anon_field=anon_field, gt_field=gt_field, detector=detector)
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
        _field_input(ctx, inputs, name="out_field")
        inputs.int("max_tries", default=3, min=0, label="Maximum re-anonymizations per face")
        inputs.str("faces_field", default="faces", label="Faces field")
        return types.Property(inputs, view=types.View(label="Identity guard"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        from ldfa.plugin.guard import guard_identity

        p = ctx.params
        selected = [label["label_id"] for label in (ctx.selected_labels or [])] or p.get("face_ids")
        result = guard_identity(ctx.target_view(), p["out_field"],
                                faces_field=p.get("faces_field", "faces"),
                                max_tries=p.get("max_tries", 3), face_ids=selected,
                                progress=progress_reporter(ctx))
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return result

    def __call__(self, sample_collection, out_field, face_ids=None, max_tries=3,
                 faces_field="faces", delegate=False):
        params = dict(out_field=out_field, face_ids=face_ids, max_tries=max_tries,
                      faces_field=faces_field)
        return call_operator(self, sample_collection, params, delegate)
