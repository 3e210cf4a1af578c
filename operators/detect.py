"""``detect_faces`` operator: the App's form for ``ldfa.detect_faces``."""

from __future__ import annotations

import fiftyone as fo
import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.common import call_operator, engine_of, heavy_config, progress_reporter, resolve_delegation
from ldfa.operators.forms import add_inputs, given
from ldfa.plugin.detection.detect import detect_faces
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.schema import FACES


class DetectFaces(foo.Operator):
    """Wraps :func:`ldfa.detect_faces`; faces land in a Detections field of the target view."""

    @property
    def config(self):
        return heavy_config("detect_faces", "Detect faces",
                            "Find faces (boxes, scores, landmarks) in the target images", icon="face")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Detect faces in")
        inputs.str("label_field", default=FACES, required=True, label="Field",
                   description="Detections field to write; a rerun replaces it on the target samples")
        add_inputs(inputs, DetectorConfig)
        inputs.list("people_field", types.String(), default=_imported_people(ctx.dataset),
                    label="People fields", view=types.AutocompleteView(choices=[
                        types.Choice(name, label=name) for name in _people_choices(ctx.dataset)]),
                    description="Person annotations (polygons, boxes, keypoints): a person "
                                "without a face gets a closer look")
        return types.Property(inputs, view=types.View(label="Detect faces"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        p = ctx.params
        summary = detect_faces(ctx.target_view(), label_field=p.get("label_field", FACES),
                               people_field=p.get("people_field") or None,
                               progress=progress_reporter(ctx), engine=engine_of(ctx),
                               **given(p, DetectorConfig))
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        result = summary.to_dict()
        result.pop("per_image")  # one row per image is too much for the App's result view
        return result

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("images", label="Images")
        outputs.int("faces", label="Faces found")
        outputs.int("small", label="Small faces, under the detector's min_face_px (kept)")
        outputs.int("failed", label="Failed images")
        return types.Property(outputs, view=types.View(label="Face detection"))

    def __call__(self, sample_collection, label_field=FACES, people_field=None, delegate=False,
                 **params):
        """SDK-style call: ``foo.get_operator("@ldfa/anonymization/detect_faces")(view, ...)``;
        ``params`` are any field of :class:`DetectorConfig`."""
        params = dict(params, label_field=label_field, people_field=people_field)
        return call_operator(self, sample_collection, params, delegate)


def _people_choices(dataset) -> list[str]:
    """Fields that can say where the people are: Detections and Polylines."""
    return sorted(name for name, field in dataset.get_field_schema().items()
                  if getattr(field, "document_type", None) in (fo.Detections, fo.Polylines))


def _imported_people(dataset) -> list[str]:
    """The people fields an ``ldfa import`` found: used unless the user says otherwise."""
    return list((dataset.info.get("ldfa_source") or {}).get("people_fields") or [])
