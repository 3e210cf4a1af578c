"""``detect_faces`` operator: the App's form for ``ldfa.detect_faces``."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.operators.common import call_operator, heavy_config, progress_reporter, resolve_delegation
from ldfa.plugin.detect import detect_faces
from ldfa.plugin.detection_config import BACKEND_NAMES, DEFAULT_BACKEND, DetectorConfig

DEFAULTS = DetectorConfig()


class DetectFaces(foo.Operator):
    """Wraps :func:`ldfa.detect_faces`; faces land in a Detections field of the target view."""

    @property
    def config(self):
        return heavy_config("detect_faces", "Detect faces",
                            "Find faces (boxes, scores, landmarks) in the target images", icon="face")

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx, action_description="Detect faces in")
        choices = types.Dropdown()
        for name in BACKEND_NAMES:
            choices.add_choice(name, label=name)
        inputs.enum("detector", choices.values(), default=DEFAULT_BACKEND, view=choices,
                    label="Detector", description="CenterFace was the most accurate in ldfa's benchmark (README)")
        inputs.str("label_field", default="faces", required=True, label="Field",
                   description="Detections field to write; a rerun replaces it on the target samples")
        inputs.float("confidence", default=DEFAULTS.confidence, min=0.0, max=1.0,
                     label="Confidence threshold", description="Full-frame faces at or above it are kept as found")
        inputs.float("candidate_confidence", default=DEFAULTS.candidate_confidence, min=0.0, max=1.0,
                     label="Candidate threshold", description="Weaker candidates down to it get a zoomed second look")
        inputs.float("zoom", default=DEFAULTS.zoom, min=1.0, max=8.0, label="Zoom",
                     description="Magnification of the second look (1: none)")
        inputs.float("zoom_confidence", default=DEFAULTS.zoom_confidence, min=0.0, max=1.0,
                     label="Zoom threshold", description="Faces the second look finds at or above it are kept")
        inputs.int("min_face_px", default=DEFAULTS.min_face_px, min=0, label="Small face (px)",
                   description="Faces with a shorter side below this are marked `small` (and kept)")
        inputs.int("max_side", default=DEFAULTS.max_side, min=32, label="Detection size (px)",
                   description="Longer images are downscaled to this side for the full-frame pass")
        people = _people_choices(ctx.dataset)
        inputs.list("people_field", types.String(), default=_imported_people(ctx.dataset),
                    label="People fields", view=types.AutocompleteView(choices=[
                        types.Choice(name, label=name) for name in people]),
                    description="Person annotations (polygons, boxes, keypoints): a person "
                                "without a face gets a closer look")
        inputs.int("batch_size", min=1, label="Batch size",
                   description="Images per detector call; empty: 8 on GPU, 1 on CPU")
        return types.Property(inputs, view=types.View(label="Detect faces"))

    def resolve_delegation(self, ctx):
        return resolve_delegation(ctx)

    def execute(self, ctx):
        p = ctx.params
        summary = detect_faces(
            ctx.target_view(),
            label_field=p.get("label_field", "faces"),
            detector=p.get("detector", DEFAULT_BACKEND),
            confidence=p.get("confidence", DEFAULTS.confidence),
            candidate_confidence=p.get("candidate_confidence", DEFAULTS.candidate_confidence),
            zoom=p.get("zoom", DEFAULTS.zoom),
            zoom_confidence=p.get("zoom_confidence", DEFAULTS.zoom_confidence),
            min_face_px=p.get("min_face_px", DEFAULTS.min_face_px),
            max_side=p.get("max_side", DEFAULTS.max_side),
            people_field=p.get("people_field") or None,
            batch_size=p.get("batch_size", DEFAULTS.batch_size),
            device=p.get("device"),
            progress=progress_reporter(ctx),
        )
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        result = summary.to_dict()
        result.pop("per_image")  # one row per image is too much for the App's result view
        return result

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("images", label="Images")
        outputs.int("faces", label="Faces found")
        outputs.int("small", label="Small faces (kept)")
        outputs.int("failed", label="Failed images")
        return types.Property(outputs, view=types.View(label="Face detection"))

    def __call__(self, sample_collection, label_field="faces", detector=DEFAULT_BACKEND,
                 confidence=DEFAULTS.confidence, candidate_confidence=DEFAULTS.candidate_confidence,
                 zoom=DEFAULTS.zoom, zoom_confidence=DEFAULTS.zoom_confidence,
                 min_face_px=DEFAULTS.min_face_px, max_side=DEFAULTS.max_side, people_field=None,
                 batch_size=DEFAULTS.batch_size, device=None, delegate=False):
        """SDK-style call: ``foo.get_operator("@ldfa/anonymization/detect_faces")(view, ...)``."""
        params = dict(label_field=label_field, detector=detector, confidence=confidence,
                      candidate_confidence=candidate_confidence, zoom=zoom,
                      zoom_confidence=zoom_confidence, min_face_px=min_face_px,
                      max_side=max_side, people_field=people_field, batch_size=batch_size,
                      device=device)
        return call_operator(self, sample_collection, params, delegate)


def _people_choices(dataset) -> list[str]:
    """Fields that can say where the people are: Detections and Polylines."""
    import fiftyone as fo

    return sorted(name for name, field in dataset.get_field_schema().items()
                  if getattr(field, "document_type", None) in (fo.Detections, fo.Polylines))


def _imported_people(dataset) -> list[str]:
    """The people fields an ``ldfa import`` found: used unless the user says otherwise."""
    return list((dataset.info.get("ldfa_source") or {}).get("people_fields") or [])
