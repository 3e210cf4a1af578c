"""A sample's original and one of its versions, read as every metric compares them."""

from __future__ import annotations

import numpy as np

from ldfa.plugin.errors import ImageError
from ldfa.plugin.io.images import read_rgb
from ldfa.plugin.schema import ORIGINAL


def read_pair(sample, field: str) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """(original pixels, ``field``'s pixels or None, why there are none): a version that is
    missing, unreadable or of another size cannot be compared face by face. ``ORIGINAL`` is
    the original itself."""
    original, _ = read_rgb(sample.filepath)
    if field == ORIGINAL:
        return original, original, None
    try:
        version = read_rgb(sample[field])[0]
    except (ImageError, TypeError, ValueError) as e:
        return original, None, f"no anonymized image ({e})"
    if version.shape != original.shape:
        return original, None, "anonymized image has another size"
    return original, version, None
