"""The identity guard's options, each declared once (``ldfa.plugin.options``).

``ldfa.guard_identity`` and the App's Identity guard read ``GuardConfig``; the step after
anonymizing (``ldfa anonymize --identity-guard``, ``ldfa run``, the App's anonymize form)
reads ``GuardStep``. Free of FiftyOne and torch, so ``ldfa --help`` stays instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldfa.plugin.options import option


@dataclass(frozen=True)
class GuardConfig:
    """How often the identity guard may redo a face."""

    max_tries: int = option(3, "re-anonymizations per face at most (a new seed each); faces still "
                            "recognisable after them are tagged needs_review", low=0)


@dataclass(frozen=True)
class GuardStep:
    """The identity guard as the step after anonymizing: anonymize, then guard."""

    identity_guard: int = option(0, "after anonymizing, re-anonymize faces any identity model still "
                                 "matches to their original, up to N tries; faces still matching are tagged "
                                 "needs_review (0: off)", low=0)
