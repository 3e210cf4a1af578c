"""Renamed SDK keyword arguments keep working for one minor version, with a warning.

A script written for an earlier ldfa must not break on a rename, nor silently lose an
argument: ``renamed`` maps each old name to the new one and says so in a ``DeprecationWarning``
until the old names go, in 0.3.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings

from ldfa.plugin.errors import ConfigError

REMOVED_IN = "0.3"


def warn(message: str) -> None:
    """A ``DeprecationWarning`` attributed to the first caller outside ldfa, past ldfa's own
    wrappers (``ldfa.anonymize_faces`` wraps the stage's): Python shows it where the old call is
    written, and only there."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith("ldfa."):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)


def renamed(**names):
    """Decorator: ``renamed(out_field="field")`` takes ``out_field=`` as ``field=``. A new name
    may come with a function of the old value: ``detector=("detection", to_dict)``."""
    spec = {old: new if isinstance(new, tuple) else (new, None) for old, new in names.items()}

    def decorate(func):
        parameters = list(inspect.signature(func).parameters)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            given = set(parameters[: len(args)]) | set(kwargs)
            for old in spec.keys() & kwargs.keys():
                new, convert = spec[old]
                if new in given:
                    raise ConfigError(f"{func.__name__}: {old} is the old name of {new}; give only {new}")
                warn(f"{func.__name__}: {old}= is now {new}= ({old} goes in {REMOVED_IN})")
                value = kwargs.pop(old)
                kwargs[new] = convert(value) if convert else value
            return func(*args, **kwargs)

        return wrapper

    return decorate
