"""How faces are followed across frames: the tracker's settings, free of torch and the tracker,
so the command line and the App's forms read them without loading a model."""

from __future__ import annotations

from dataclasses import dataclass

from ldfa.plugin.errors import ConfigError
from ldfa.plugin.options import check, option, refuse_unknown


@dataclass(frozen=True)
class TrackConfig:
    """How faces are linked and filled across frames.

    Defaults measured with ``.venv/bin/python bench/tracking.py`` on the clips of
    ../shared/data/videos (walkway, hamilton's first 120 and concourse's first 40 frames, both
    GIFs, the five MOT17 sequences: 369 frames, 3062 faces of the default detector). The detector
    alone leaves 192 frames where a face found on both sides is missed (a leak) and covers 8;
    tracking with these defaults covers all 192. ``pad_frames`` 0/1/2/3/5 covers 149/187/192/
    192/192 at 0/396/752/1080/1650 boxes added. ``high`` 0.2 (every face the default detector
    keeps, its second look's faces from 0.2 included, starts a track) makes 315 tracks, 0.5
    makes 448 and 0.7 496: joined, the weak faces' tracks are interpolated across their gaps
    (149 misses covered without padding, 67 at 0.5). ``max_gap`` 1/5/15/30/60 makes 490/368/327/
    315/310 tracks, none joining faces too far apart to be one. ``smooth`` 1 halves the boxes'
    jitter (6.9 to 3.6 % of the face's size a frame) for 3.8 % more area; 2 and 3 do no better
    (4.0 %) for 5.7 and 7.9 %. ``low`` is the detector's ``candidate_confidence``: the default
    detector keeps no face below 0.2, so it acts only on faces found at lower thresholds.
    """

    high: float = option(0.2, "faces scored at least this start a track", low=0.0, high=1.0, cli="--track-high")
    low: float = option(0.1, "weaker faces down to this can continue a track (never start one)", low=0.0,
                        high=1.0, cli="--track-low")
    pad_frames: int = option(2, "frames covered before a track's first and after its last face", low=0,
                             cli="--track-pad-frames")
    max_gap: int = option(30, "frames a lost track is kept to be joined again (at 30 fps: scaled by the "
                          "clip's frame rate)", low=0, cli="--track-max-gap")
    smooth: int = option(1, "half-window (frames) of the box smoothing, which only grows boxes; 0: none",
                         low=0, cli="--track-smooth")

    @classmethod
    def build(cls, **params) -> "TrackConfig":
        """A validated config from field values by name; unknown names are refused."""
        refuse_unknown(cls, params, "tracking")
        return cls(**params).validate()

    def validate(self) -> "TrackConfig":
        check(self)
        if self.low > self.high:
            raise ConfigError(f"track low ({self.low}) must not exceed track high ({self.high})")
        return self
