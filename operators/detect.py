"""``detect_faces`` operator: the App's form for ``ldfa.detect_faces``, and with "Licence plates too"
for ``ldfa.detect_plates`` after the faces."""

from __future__ import annotations

import fiftyone as fo
import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.common import call_operator, engine_of, heavy_config, progress_reporter, resolve_delegation
from ldfa.operators.forms import add_inputs, given
from ldfa.plugin.detection.detect import detect_faces
from ldfa.plugin.detection.plates import detect_plates
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.plates import PlateDetectorConfig
from ldfa.plugin.schema import FACES, PLATES


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
        inputs.list("people_field", types.String(), default=_imported(ctx.dataset, "people_fields"),
                    label="People fields", view=_field_choices(ctx.dataset, fo.Detections, fo.Polylines),
                    description="Person annotations (polygons, boxes, keypoints): a person "
                                "without a face gets a closer look")
        inputs.bool("plates", default=False, label="Licence plates too",
                    description="Find licence plates as well, into their own Detections field (tracked in "
                                "videos); anonymization then replaces them with the faces")
        if ctx.params.get("plates"):
            _plate_inputs(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Detect faces"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        p, report = ctx.params, progress_reporter(ctx)
        plates = bool(p.get("plates"))
        if plates:  # bad plate options are refused before the faces' run, not after it
            PlateDetectorConfig.build(**given(p, PlateDetectorConfig))
        summary = detect_faces(ctx.target_view(), label_field=p.get("label_field", FACES),
                               people_field=p.get("people_field") or None,
                               progress=_part(report, 0.0, 0.5) if plates else report, engine=engine_of(ctx),
                               **given(p, DetectorConfig))
        result = _shown(summary)
        if plates:
            labels = p.get("plates_labels")
            result["plates"] = _shown(detect_plates(
                ctx.target_view(), label_field=p.get("plates_field") or PLATES,
                plates_labels=None if labels is None else list(labels),
                progress=_part(report, 0.5, 0.5), engine=engine_of(ctx), **given(p, PlateDetectorConfig)))
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return result

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("images", label="Images")
        outputs.int("faces", label="Faces found")
        outputs.int("small", label="Small faces, under the detector's min_face_px (kept)")
        outputs.int("failed", label="Failed images")
        if ctx.params.get("plates"):
            plates = types.Object()
            plates.int("faces", label="Licence plates found")
            plates.int("failed", label="Failed images")
            outputs.define_property("plates", plates, label="Licence plates")
        return types.Property(outputs, view=types.View(label="Face detection"))

    def __call__(self, sample_collection, label_field=FACES, people_field=None, plates=False,
                 plates_field=PLATES, plates_labels=None, delegate=False, **params):
        """SDK-style call: ``foo.get_operator("@ldfa/anonymization/detect_faces")(view, ...)``;
        ``params`` are any field of :class:`DetectorConfig`, and with ``plates=True`` of
        :class:`PlateDetectorConfig` (``plates_labels``: ``ldfa.detect_plates``'s)."""
        params = dict(params, label_field=label_field, people_field=people_field, plates=plates,
                      plates_field=plates_field, plates_labels=plates_labels)
        return call_operator(self, sample_collection, params, delegate)


def _plate_inputs(ctx, inputs: types.Object) -> None:
    """The plates' field, their detector's options and the dataset's plate outlines."""
    inputs.str("plates_field", default=PLATES, required=True, label="Plates field",
               description="Detections field of the licence plates; a rerun replaces it on the target samples")
    add_inputs(inputs, PlateDetectorConfig)
    inputs.list("plates_labels", types.String(), default=_imported(ctx.dataset, "plates_fields"),
                label="Plate outline fields", view=_field_choices(ctx.dataset, fo.Polylines),
                description="Polylines whose license plate polygons are plates too (e.g. Cityscapes' "
                            "gt_fine): a plate the detector misses is taken from them")


def _part(report, start: float, share: float):
    """``report`` for one of the operator's runs: its fractions mapped into [start, start + share]."""
    return lambda fraction, label: report(start + share * fraction, label)


def _shown(summary) -> dict:
    """A detection summary for the App's result view: one row per image is too much for it."""
    result = summary.to_dict()
    result.pop("per_image")
    return result


def _field_choices(dataset, *kinds) -> types.AutocompleteView:
    """The dataset's sample fields of these label types to choose from, by name."""
    return types.AutocompleteView(choices=[
        types.Choice(name, label=name) for name, field in sorted(dataset.get_field_schema().items())
        if getattr(field, "document_type", None) in kinds])


def _imported(dataset, key: str) -> list[str]:
    """The fields of kind ``key`` (people_fields, plates_fields) an ``ldfa import`` found: used
    unless the user says otherwise."""
    return list((dataset.info.get("ldfa_source") or {}).get(key) or [])
