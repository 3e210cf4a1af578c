"""An original and one of its versions, read as every metric compares them."""

from __future__ import annotations

import numpy as np

from ldfa.plugin.errors import ImageError
from ldfa.plugin.io.images import read_rgb


def read_pair(original: str, version: str | None, same: bool = False
              ) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """(original pixels, the version's pixels or None, why there are none): a version that is
    missing, unreadable or of another size cannot be compared face by face. ``same``: the
    version is the original itself. An unreadable original raises ``ImageError``: no face of
    it can be judged (``unreadable_original`` says so per face)."""
    pixels, _ = read_rgb(original)
    if same:
        return pixels, pixels, None
    try:
        other = read_version(version)
    except ImageError as e:
        return pixels, None, no_version(e)
    if other.shape != pixels.shape:
        return pixels, None, "anonymized image has another size"
    return pixels, other, None


def read_version(path: str | None) -> np.ndarray:
    """A version's pixels; ``ImageError`` when there are none (no path: its anonymization failed)."""
    if path is None:
        raise ImageError("none was written: its anonymization failed or has not run")
    return read_rgb(path)[0]


def no_version(error: ImageError) -> str:
    """The reason every face of an image whose version cannot be read gets instead of a figure."""
    return f"no anonymized image ({error})"


def unreadable_original(error: ImageError) -> str:
    """The reason every face of an original that cannot be read gets instead of a figure."""
    return f"original unreadable ({error}): nothing to compare"
