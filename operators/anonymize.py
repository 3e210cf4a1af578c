"""``anonymize_faces`` operator: the App's form for ``ldfa.anonymize_faces``."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.common import call_operator, heavy_config, progress_reporter, resolve_delegation
from ldfa.plugin.anonymization_config import PRESETS, AnonymizationConfig
from ldfa.plugin.anonymize import anonymize_faces
from ldfa.plugin.methods import METHODS

DEFAULTS = AnonymizationConfig()


class AnonymizeFaces(foo.Operator):
    """Wraps :func:`ldfa.anonymize_faces`; new images go to a media field the App can show."""

    @property
    def config(self):
        return heavy_config("anonymize_faces", "Anonymize faces",
                            "Replace detected faces (LDFA diffusion or a classic method) in new image files",
                            icon="face_retouching_off")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Anonymize")
        methods = types.Dropdown()
        for name in METHODS:
            methods.add_choice(name, label=name)
        inputs.enum("method", methods.values(), default="ldfa", view=methods, label="Method",
                    description="ldfa: latent-diffusion faces; gauss / pixelate / solid: baselines")
        inputs.str("faces_field", default="faces", label="Faces field")
        method = ctx.params.get("method", "ldfa")
        inputs.str("out_field", default=f"anon_{method}", label="Output field",
                   description="String field for the new paths; registered as an App media field")
        inputs.str("output_dir", required=True, label="Output folder",
                   description="Mirrors the source tree; must be outside it")
        inputs.int("seed", default=DEFAULTS.seed, label="Seed")
        inputs.int("min_face_px", default=DEFAULTS.min_face_px, min=0,
                   label="Minimum face size (px)", description="Smaller faces get the fallback method")
        if method == "ldfa":
            presets = types.Dropdown()
            for name in PRESETS:
                presets.add_choice(name, label=name)
            inputs.enum("preset", presets.values(), view=presets, label="Preset",
                        description="paper: the published LDFA procedure")
            inputs.str("model", default=DEFAULTS.model, label="Model",
                       description="Hub id, local folder or .safetensors file")
            inputs.int("num_inference_steps", default=DEFAULTS.num_inference_steps, min=1, label="Steps")
            inputs.int("batch_size", default=DEFAULTS.batch_size, min=1, label="Faces per batch")
        inputs.bool("overwrite", default=False, label="Overwrite results of another config")
        return types.Property(inputs, view=types.View(label="Anonymize faces"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        p = dict(ctx.params)
        for name in ("view_target", "delegate"):
            p.pop(name, None)
        params = {k: v for k, v in p.items()
                  if k not in ("method", "faces_field", "out_field", "output_dir", "overwrite", "preset")
                  and v is not None}
        summary = anonymize_faces(
            ctx.target_view(), method=p.get("method", "ldfa"),
            faces_field=p.get("faces_field", "faces"), out_field=p.get("out_field"),
            output_dir=p["output_dir"], overwrite=p.get("overwrite", False),
            preset=p.get("preset"), progress=progress_reporter(ctx), **params,
        )
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return summary.to_dict()

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("written", label="Images written")
        outputs.int("faces", label="Faces anonymized")
        outputs.int("failed", label="Failed images")
        return types.Property(outputs, view=types.View(label="Anonymization"))

    def __call__(self, sample_collection, output_dir, method="ldfa", faces_field="faces",
                 out_field=None, overwrite=False, preset=None, delegate=False, **params):
        """SDK-style call: ``foo.get_operator("@ldfa/anonymization/anonymize_faces")(view, dir, ...)``."""
        params = dict(params, output_dir=str(output_dir), method=method, faces_field=faces_field,
                      out_field=out_field or f"anon_{method}", overwrite=overwrite, preset=preset)
        return call_operator(self, sample_collection, params, delegate)
