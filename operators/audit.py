"""Audit operators: build the side-by-side view, tag faces for review, re-anonymize selected faces."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.plugin.anonymize import reanonymize_faces
from ldfa.plugin.audit import open_audit, source_dataset
from ldfa.plugin.report import anonymized_fields

REVIEW_TAGS = ("approved", "needs_review")


class OpenAudit(foo.Operator):
    """Build the side-by-side grouped audit dataset and the saved views."""

    @property
    def config(self):
        return foo.OperatorConfig(name="open_audit", label="Build side-by-side audit",
                                  description="Grouped dataset: original and each anonymized "
                                              "version, same files, face boxes on all")

    def execute(self, ctx):
        audit = open_audit(source_dataset(ctx.dataset))
        ctx.ops.open_dataset(audit.name)
        return {"dataset": audit.name}


class TagFaces(foo.Operator):
    """Mark the selected faces ``approved`` or ``needs_review``."""

    @property
    def config(self):
        return foo.OperatorConfig(name="tag_faces", label="Review: tag selected faces",
                                  dynamic=True)

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.enum("tag", list(REVIEW_TAGS), default="needs_review", label="Tag")
        inputs.str("faces_field", default="faces", label="Faces field")
        return types.Property(inputs)

    def execute(self, ctx):
        labels = ctx.selected_labels
        if not labels:
            return {"tagged": 0}
        tag = ctx.params.get("tag", "needs_review")
        field = ctx.params.get("faces_field", "faces")
        ids = [label["label_id"] for label in labels]
        # the audit dataset shares label ids with its source: tag both so either shows the review
        for dataset in {ctx.dataset.name: ctx.dataset, **{source_dataset(ctx.dataset).name:
                                                         source_dataset(ctx.dataset)}}.values():
            view = dataset.select_labels(ids=ids, fields=field)
            view.untag_labels([t for t in REVIEW_TAGS if t != tag], label_fields=[field])
            view.tag_labels(tag, label_fields=[field])
        ctx.ops.reload_dataset()
        return {"tagged": len(labels)}


class ReanonymizeSelected(foo.Operator):
    """Redo the selected faces with a new seed; the anonymized file is replaced in place."""

    @property
    def config(self):
        return foo.OperatorConfig(name="reanonymize_selected_faces",
                                  label="Review: re-anonymize selected faces", dynamic=True,
                                  allow_immediate_execution=True, allow_delegated_execution=True)

    def resolve_input(self, ctx):
        inputs = types.Object()
        fields = list(anonymized_fields(source_dataset(ctx.dataset)))
        inputs.enum("out_field", fields, default=fields[0] if fields else None, required=True,
                    label="Anonymized field")
        return types.Property(inputs)

    def execute(self, ctx):
        ids = [label["label_id"] for label in ctx.selected_labels or []]
        if not ids:
            return {"faces": 0}
        summary = reanonymize_faces(source_dataset(ctx.dataset), ctx.params["out_field"], ids,
                                    progress=False)
        ctx.ops.reload_dataset()
        return {"faces": len(ids), "written": summary.written}
