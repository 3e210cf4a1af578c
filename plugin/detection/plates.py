"""``detect_plates``: find licence plates in every image or video of a collection, as faces are found.

A readable plate gives a car's owner away as a face gives its person, so plates get the same
machinery: the detection core on the run's engine, tracks in videos and frame sequences (a plate
missed in one frame is filled from its track), and the dataset's own labels as a second opinion
(Cityscapes outlines plates as ``license plate`` polygons: a plate the detector misses is taken
from them, source ``annotation``). The plate detectors live in ``ldfa.plugin.models.plates``.
"""

from __future__ import annotations

from dataclasses import asdict

import fiftyone as fo

from ldfa.plugin.detection.detect import DetectionSummary, detect_regions
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.models.plates import PlateDetectorConfig
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import versions
from ldfa.plugin.schema import PLATES


def detect_plates(
    collection: fo.core.collections.SampleCollection,
    label_field: str = PLATES,
    plates_labels: str | list[str] | None = None,
    progress: ProgressArg = True,
    engine: str | dict | EngineConfig = "local",
    tracking: dict | None = None,
    **params,
) -> DetectionSummary:
    """Detect licence plates in every sample of ``collection`` and write them to ``label_field``.

    Each plate becomes an ``fo.Detection`` labelled ``license plate`` with its ``confidence``
    and ``source`` (the detector's name, ``zoom``, ``track`` for a box a track filled, or
    ``annotation`` for a plate taken from the dataset's own polygons), tracked like faces in
    videos and frame sequences (``ldfa.detect_faces`` says how). A box lying mostly inside
    another plate's is that plate found twice: merged, grown to cover both.

    Args:
        collection: a dataset or view of images or videos
        label_field: the ``fo.Detections`` field to write (``frames.<label_field>`` in a video)
        plates_labels: ``fo.Polylines`` field(s) whose ``license plate`` polygons are plates too
            (default: the ones ``ldfa import`` found, e.g. Cityscapes' ``gt_fine``)
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        engine: ``local`` (this process), ``ray``, or an :class:`EngineConfig`
        tracking: fields of ``TrackConfig`` by name (videos and sequences)
        **params: any field of :class:`PlateDetectorConfig` (``plate_detector``,
            ``plate_confidence``, ...); its help says what each does
    """
    config = PlateDetectorConfig.build(**params)
    video = collection.media_type == "video"
    labels = [] if video else _plates_labels(collection, plates_labels)
    summary = DetectionSummary(label_field, config.plate_detector, noun="licence plates")
    record = {"method": "ldfa.detect_plates", "label_field": label_field, **asdict(config),
              "plates_labels": labels, "versions": versions("onnxruntime")}
    return detect_regions(collection, "plate", label_field, labels, params, summary, record,
                          progress, engine, tracking)


def _plates_labels(collection, plates_labels) -> list[str]:
    """The polygon fields asked for (default: the ones the import recorded), checked."""
    if plates_labels is None:
        plates_labels = (collection._dataset.info.get("ldfa_source") or {}).get("plates_fields") or []
    fields = [plates_labels] if isinstance(plates_labels, str) else list(plates_labels)
    for name in fields:
        kind = collection.get_field(name) if collection.has_field(name) else None
        if getattr(kind, "document_type", None) is not fo.Polylines:
            raise ConfigError(f"plates labels field '{name}' must be a Polylines field of the dataset "
                              "(e.g. Cityscapes' gt_fine)")
    return fields
