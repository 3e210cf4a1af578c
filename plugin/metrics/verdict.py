"""The privacy verdict on one face: recognisable when any identity model that can judge it
says "same person".

An attacker uses the best model it has, so one model's "different person" does not make a face
safe while another still recognises it (issue 20: on 61 photos of 13 people outside the shared
set, FaceNet's offline weights at 0.45 recognised 0.69 of same-person pairs, dlib 0.97). Each
embedder judges a face with a distance (same person below its threshold), finds no face left
(judged: not the same person), or cannot judge it at all (too small, unreadable original).

This module is the one place that decides; the identity metrics (per face and per run, hence
``evaluate``, the report and the audit) and the identity guard (does a face need another try)
all call ``same_person_verdict``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

NO_FACE_LEFT = math.inf  # the distance of an anonymized face with no face left to embed


def same_person_verdict(distances: Mapping[str, float | None],
                        thresholds: Mapping[str, float]) -> bool | None:
    """True when any embedder that judges the face puts it within its same-person threshold,
    False when at least one judges it and none does, None when none can judge it (not
    measurable: neither at risk nor safe, left out of every rate).

    Args:
        distances: per embedder the face's distance to its original; ``NO_FACE_LEFT`` where the
            anonymized face has no usable crop (judged: nothing left to recognise), None where
            the embedder cannot judge the face. Whether a face needs another try reads the same
            from stored distances alone (None for both): only True matters there.
        thresholds: same-person threshold by embedder (same person below it)
    """
    judged = {name: d for name, d in distances.items() if d is not None}
    if not judged:
        return None
    return any(d < thresholds[name] for name, d in judged.items())


def ratio_to_threshold(distances: Mapping[str, float | None],
                    thresholds: Mapping[str, float]) -> float | None:
    """The face's smallest distance in units of that embedder's same-person threshold (below 1:
    some model still recognises it), over the embedders that measured a distance; None without
    one. One scale for every model, so faces sort riskiest first whichever model is closest."""
    ratios = [d / thresholds[name] for name, d in distances.items()
              if d is not None and math.isfinite(d) and thresholds[name] > 0]
    return min(ratios) if ratios else None
