"""``anonymize_faces`` operator: the App's form for ``ldfa.anonymize_faces``."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.common import call_operator, engine_of, heavy_config, progress_reporter, resolve_delegation
from ldfa.operators.forms import add_inputs, dropdown, given
from ldfa.plugin.anonymization.config import PRESETS, PRESETS_HELP, AnonymizationConfig, DiffusionConfig
from ldfa.plugin.guard.config import GuardStep
from ldfa.plugin.guard.step import anonymize_then_guard
from ldfa.plugin.schema import FACES, anonymized_field


class AnonymizeFaces(foo.Operator):
    """Wraps :func:`ldfa.anonymize_faces`, then :func:`ldfa.guard_identity` when the form asks
    for it; new images go to a media field the App can show."""

    @property
    def config(self):
        return heavy_config("anonymize_faces", "Anonymize faces",
                            "Replace detected faces (LDFA diffusion or a classic method) in new image files",
                            icon="face_retouching_off")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Anonymize")
        method = ctx.params.get("method") or AnonymizationConfig().method
        add_inputs(inputs, AnonymizationConfig)
        inputs.str("faces_field", default=FACES, label="Faces field")
        inputs.str("field", default=anonymized_field(method), label="Output field",
                   description="String field for the new paths; registered as an App media field")
        inputs.str("output_dir", required=True, label="Output folder",
                   description="Mirrors the source tree; must be outside it")
        if AnonymizationConfig(method=method).uses_diffusion:
            inputs.enum("preset", list(PRESETS), view=dropdown(PRESETS), label="Preset",
                        description=PRESETS_HELP)
            add_inputs(inputs, DiffusionConfig)
        add_inputs(inputs, GuardStep)
        inputs.bool("overwrite", default=False, label="Overwrite results of another config")
        return types.Property(inputs, view=types.View(label="Anonymize faces"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        p = ctx.params
        summary = anonymize_then_guard(
            ctx.target_view(), faces_field=p.get("faces_field", FACES), field=p.get("field"),
            output_dir=p["output_dir"], overwrite=p.get("overwrite", False),
            preset=p.get("preset"), progress=progress_reporter(ctx), engine=engine_of(ctx),
            **given(p, GuardStep), **given(p, AnonymizationConfig, DiffusionConfig))
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return summary.to_dict()

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("written", label="Images written")
        outputs.int("faces", label="Faces anonymized")
        outputs.int("failed", label="Failed images")
        return types.Property(outputs, view=types.View(label="Anonymization"))

    def __call__(self, sample_collection, output_dir, faces_field=FACES, field=None,
                 overwrite=False, preset=None, delegate=False, **params):
        """SDK-style call: ``foo.get_operator("@ldfa/anonymization/anonymize_faces")(view, dir, ...)``;
        ``params`` are any field of :class:`AnonymizationConfig`, its ``DiffusionConfig`` or
        :class:`GuardStep` (``identity_guard``)."""
        params = dict(params, output_dir=str(output_dir), faces_field=faces_field, field=field,
                      overwrite=overwrite, preset=preset)
        return call_operator(self, sample_collection, params, delegate)
