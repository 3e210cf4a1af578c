"""Anonymize, then guard: the identity guard as the step after ``anonymize_faces``.

``ldfa anonymize --identity-guard N``, ``ldfa run``, the App's anonymize form and the SDK's
``ldfa.anonymize_faces`` run the two one after the other here, above both stages: the
anonymization stage knows nothing of identity metrics, and they load only when the guard runs.
``ldfa.anonymize_faces(identity_guard=N)`` still works until 0.3, with a warning: call
``ldfa.guard_identity`` after it instead.
"""

from __future__ import annotations

import functools

from ldfa.plugin.anonymization import anonymize
from ldfa.plugin.anonymization.faces import AnonymizationSummary
from ldfa.plugin.deprecation import REMOVED_IN, warn
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.guard.config import GuardStep
from ldfa.plugin.options import check
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import record_results
from ldfa.plugin.schema import ANONYMIZE, run_key


def anonymize_then_guard(collection, *args, identity_guard: int = GuardStep.identity_guard,
                         progress: ProgressArg = True, engine: str | dict | EngineConfig = "local",
                         **params) -> AnonymizationSummary:
    """``anonymize_faces(collection, *args, **params)``, then, when ``identity_guard`` gives it
    tries, ``guard_identity`` on the new field with that many; what the guard did goes on the
    summary and into the anonymization run's recorded results."""
    check(GuardStep(identity_guard))
    summary = anonymize.anonymize_faces(collection, *args, progress=progress, engine=engine, **params)
    if identity_guard:
        from ldfa.plugin.guard.identity import guard_identity  # the identity metrics load only here

        summary.identity_guard = guard_identity(collection, summary.field, max_tries=identity_guard,
                                                progress=progress, engine=engine)
        record_results(collection, run_key(ANONYMIZE, summary.field), {"summary": summary.to_dict()})
    return summary


@functools.wraps(anonymize.anonymize_faces)
def anonymize_faces(*args, identity_guard: int | None = None, **kwargs) -> AnonymizationSummary:
    if identity_guard is None:
        return anonymize.anonymize_faces(*args, **kwargs)
    warn(f"anonymize_faces: identity_guard= is a step of its own now: call ldfa.guard_identity("
         f"collection, field, max_tries={identity_guard}) after it (identity_guard goes in {REMOVED_IN})")
    return anonymize_then_guard(*args, identity_guard=identity_guard, **kwargs)
