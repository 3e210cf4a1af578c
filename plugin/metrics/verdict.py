"""The privacy verdict on one face: recognisable when any identity model that can judge it
says "same person".

An attacker uses the best model it has, so one model's "different person" does not make a face
safe while another still recognises it (issue 20: on 61 photos of 13 people outside the shared
set, FaceNet's offline weights at 0.45 recognised 0.69 of same-person pairs, dlib 0.97). Each
embedder judges a face with a distance (same person below its threshold), finds no face left
(judged: not the same person), or cannot judge it at all (too small, unreadable original).

This module is the one place that decides; the identity metrics (per face and per run, hence
``evaluate``, the report and the audit) and the identity guard (does a face need another try)
all call ``same_person_verdict``; the review queue's status of a face (``review_status``) adds
its residual similarity for the faces no model can judge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ldfa.plugin.schema import AT_RISK, NOT_MEASURABLE, REPLACED

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


# A face no model can judge is at risk when its residual similarity is at least this. Measured on
# ../shared/data/street-faces (113 faces detected on its 11 frames; 41 of them judged by some model),
# each anonymized 8 ways (gauss and pixelate from barely to strongly, solid): of the 328 judged
# (face, version) pairs, every residual bin of 0.1 from 0.4 up is mostly still the same person
# (0.4-0.5: 5 of 7, 0.5-0.6: 7 of 13, then 0.70 to 0.97) and the bin below is not (0 of 3). At 0.4
# the rule catches 249 of the 253 recognised pairs (153 of 155 under 24 px, nearest the faces no
# model judges) and flags 30 of the 75 others; at 0.5 it would miss 5 more recognised pairs.
RESIDUAL_AT_RISK = 0.4


def review_status(same_person: bool | None, residual: float | None) -> str:
    """A face's place in the review queue (``ldfa.plugin.schema.FACE_STATUSES``) from its verdict
    (``same_person_verdict``) and residual similarity: at risk when some model says same person,
    or when none can judge it and its residual is ``RESIDUAL_AT_RISK`` or more (too small for any
    model is not thereby safe); not measurable when none can judge it and less remains (or the
    residual was not measured); replaced when judged and no model says same person."""
    if same_person is not None:
        return AT_RISK if same_person else REPLACED
    return AT_RISK if residual is not None and residual >= RESIDUAL_AT_RISK else NOT_MEASURABLE
