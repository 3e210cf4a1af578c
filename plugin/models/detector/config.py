"""What decides which faces a detection run finds: the config, its defaults and its checks.

Free of torch and FiftyOne, so the command line and the App's forms read defaults and choices
without loading a model (``ldfa --help`` stays instant); the detectors live in ``backends.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ldfa.plugin.io.device import resolve_device
from ldfa.plugin.options import check, option, refuse_unknown

BACKEND_NAMES = ("retinaface", "mtcnn", "centerface")  # ldfa.plugin.models.detector.backends.BACKENDS
DEFAULT_BACKEND = "centerface"
# Cityscapes (gtFine, CityPersons) and COCO names of a single person (groups have no one head),
# whose heads get a closer look (``ldfa.plugin.detection.people``); here, so importing a dataset
# loads no detector.
PEOPLE_LABELS = frozenset({"person", "rider", "pedestrian", "sitting person", "person (other)"})


@dataclass(frozen=True)
class DetectorConfig:
    """Everything that decides which faces a detection run finds."""

    detector: str = option(DEFAULT_BACKEND, "face detector (centerface: the best recall in "
                           "bench/detection.py)", choices=BACKEND_NAMES)
    confidence: float = option(0.5, "full-frame score at which a face is kept as found",
                               low=0.01, high=0.99)
    candidate_confidence: float = option(0.1, "weaker full-frame candidates down to this get a "
                                         "zoomed second look", low=0.01, high=0.99)
    zoom: float = option(2.0, "magnification of the second look; 1 turns it off", low=1.0, high=8.0)
    zoom_confidence: float = option(0.2, "score at which a face found by the second look is kept",
                                    low=0.01, high=0.99)
    min_face_px: int = option(8, "faces with a shorter side below this many pixels are marked "
                              "small (and kept)", low=0)
    max_side: int = option(2048, "longer images are downscaled to this side for the full-frame "
                           "pass", low=32)
    batch_size: int | None = option(None, "images per detector call (default: 8 on a GPU, 1 on "
                                    "a CPU, the fastest there)", low=1)
    device: str | None = option(None, "cuda or cpu (default: cuda when present)", ui=False)

    @classmethod
    def build(cls, **params) -> "DetectorConfig":
        """A validated config from field values by name; unknown names are refused."""
        refuse_unknown(cls, params, "detection")
        return cls(**params).validate()

    def validate(self) -> "DetectorConfig":
        """This config checked, with the device and batch size decided."""
        check(self)
        device = resolve_device(self.device)
        batch_size = self.batch_size or (8 if device.startswith("cuda") else 1)
        return replace(self, device=device, batch_size=batch_size)

    @property
    def zooms(self) -> bool:
        return self.zoom > 1.0
