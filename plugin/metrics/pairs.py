"""An original and one of its versions, read as every metric compares them: each file decoded
at most once, when a judge first needs it, however many judges look at the pair."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ldfa.plugin.errors import ImageError
from ldfa.plugin.io.images import read_rgb


class Pair:
    """The pixels of an original and of one version of it (``same``: the version is the
    original itself), read lazily and kept: a pass running several judges decodes each once."""

    def __init__(self, original: str, version: str | None, same: bool = False):
        self.original_path, self.version_path, self.same = original, version, same

    @cached_property
    def _original(self) -> np.ndarray | ImageError:
        try:
            return read_rgb(self.original_path)[0]
        except ImageError as e:
            return e

    @cached_property
    def _version(self) -> np.ndarray | ImageError:
        if self.same:
            return self._original
        try:
            return read_version(self.version_path)
        except ImageError as e:
            return e

    def compared(self) -> tuple[np.ndarray, np.ndarray | None, str | None]:
        """(original pixels, the version's pixels or None, why there are none): a version that
        is missing, unreadable or of another size cannot be compared face by face. An
        unreadable original raises ``ImageError``: no face of it can be judged
        (``unreadable_original`` says so per face)."""
        original = self._original
        if isinstance(original, ImageError):
            raise original
        other = self._version
        if isinstance(other, ImageError):
            return original, None, no_version(other)
        if other.shape != original.shape:
            return original, None, "anonymized image has another size"
        return original, other, None

    def version(self) -> np.ndarray:
        """The version's pixels alone (the original's for ``same``); ``ImageError`` when there
        are none."""
        other = self._version
        if isinstance(other, ImageError):
            raise other
        return other

    def version_missing(self, error: ImageError) -> str:
        """Why the version's image has no figure: unreadable (the original) or none readable."""
        return unreadable_original(error) if self.same else no_version(error)


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
