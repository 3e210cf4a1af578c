"""Audit operators: build the side-by-side view, tag faces for review, re-anonymize selected faces."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.layout import preferred_field
from ldfa.plugin.audit.dataset import open_audit, source_dataset
from ldfa.plugin.audit.review import tag_faces
from ldfa.plugin.guard.redo import redo_faces
from ldfa.plugin.runs import anonymized_fields
from ldfa.plugin.schema import NEEDS_REVIEW, REVIEW_TAGS


class OpenAudit(foo.Operator):
    """Build the side-by-side grouped audit dataset and the saved views."""

    @property
    def config(self):
        return foo.OperatorConfig(name="open_audit", label="Build side-by-side audit",
                                  description="Grouped dataset: original and each anonymized "
                                              "version, same files, face boxes on all")

    def execute(self, ctx):
        source = source_dataset(ctx.dataset)
        audit = open_audit(source)
        if audit.name == source.name:  # videos: no grouped audit, see ldfa.plugin.audit.dataset
            ctx.ops.notify("Saved views refreshed. Videos are compared on the dataset itself: pick a version "
                           "under Media field (settings); a video's Side by side tab shows a frame of each.")
        else:
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
        inputs.enum("tag", list(REVIEW_TAGS), default=NEEDS_REVIEW, label="Tag")
        return types.Property(inputs)

    def execute(self, ctx):
        ids = [label["label_id"] for label in ctx.selected_labels or []]
        if not ids:
            return {"tagged": 0}
        tagged = tag_faces(ctx.dataset, ids, ctx.params.get("tag", "needs_review"))
        ctx.ops.reload_dataset()
        return {"tagged": tagged}


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
        inputs.enum("field", fields, default=preferred_field(fields, ctx.group_slice),
                    required=True, label="Anonymized field")
        return types.Property(inputs)

    def execute(self, ctx):
        ids = [label["label_id"] for label in ctx.selected_labels or []]
        if not ids:
            return {"faces": 0}
        summary = redo_faces(ctx.dataset, ctx.params["field"], ids)
        ctx.ops.reload_dataset()
        return {"faces": len(ids), "written": summary.written}
