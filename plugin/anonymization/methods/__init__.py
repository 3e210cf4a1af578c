"""The anonymization methods: one module each in this package, found by this registry.

A method module defines ``METHOD``, a :class:`Method`: its name, a help line, its parameters
(a frozen dataclass of ``ldfa.plugin.options`` fields, which ``AnonymizationConfig`` takes as
its own, so each default is declared once and the CLI and the App's forms show it) and how it
makes a face's new pixels. Adding a method is adding a module here: the config, the engine and
the method contract (``tests/unit/test_method_contract.py``) pick it up from ``METHODS``.
Modules import nothing heavy at the top: ``ldfa --help`` and ``ldfa.anonymize_image`` with a
classic method load neither torch nor FiftyOne.
"""

from __future__ import annotations

import importlib
import pkgutil

from ldfa.plugin.anonymization.methods.base import Method

DEFAULT_METHOD = "ldfa"


def _registered() -> dict[str, Method]:
    """Every module's ``METHOD``, the default method first, then by name."""
    found = [importlib.import_module(f"{__name__}.{m.name}").METHOD
             for m in pkgutil.iter_modules(__path__) if m.name != "base"]
    return {m.name: m for m in sorted(found, key=lambda m: (m.name != DEFAULT_METHOD, m.name))}


METHODS: dict[str, Method] = _registered()
