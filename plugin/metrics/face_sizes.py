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

BUCKETS = ("<16", "16-32", ">32")
UNKNOWN = "unknown"  # a face whose image cannot be read: in the totals, in no bucket


def bucket(shorter_side_px: float) -> str:
    """The size bucket of a face whose box's shorter side is ``shorter_side_px`` pixels."""
    if shorter_side_px < 16:
        return BUCKETS[0]
    return BUCKETS[1] if shorter_side_px <= 32 else BUCKETS[2]
