"""Face size buckets: the one definition every per-size figure of ldfa uses.

A face's size is the shorter side of its box in pixels of the full-resolution image: a face
seen in profile or cut by the image border is only as legible as its narrow side. The buckets
are those of ``../shared/data/street-faces`` (its README's table of 82 street faces), where
most faces of driving frames fall below 16 px:

- ``"<16"``: shorter side under 16 px (46 of those 82 faces)
- ``"16-32"``: 16 to 32 px, both included (31)
- ``">32"``: over 32 px (5)
"""

from __future__ import annotations

import math

BUCKETS = ("<16", "16-32", ">32")
UNKNOWN = "unknown"  # a face whose image cannot be read: in the totals, in no bucket


def bucket(shorter_side_px: float) -> str:
    """The size bucket of a face whose box's shorter side is ``shorter_side_px`` pixels."""
    if shorter_side_px < 16:
        return BUCKETS[0]
    return BUCKETS[1] if shorter_side_px <= 32 else BUCKETS[2]


def too_small(size_px: float, min_px: float, what: str, reads_from: str) -> str | None:
    """Why a face whose shorter side is ``size_px`` is too small for ``what`` (None when it is
    not): ``reads_from`` says what works from ``min_px``. The size is shown to 0.1 px, rounded
    down where rounding would reach the minimum: a face below it never reads as at it."""
    if size_px >= min_px:
        return None
    shown = round(size_px, 1) if round(size_px, 1) < min_px else math.floor(size_px * 10) / 10
    return f"{what} not measurable at this size (face {shown:g} px; {reads_from} from {min_px:g} px)"
