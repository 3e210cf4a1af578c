"""Per-sample failures: recorded on the sample (a field and a tag), listed in run summaries.

A bad image never stops a batch. For an output field ``F`` the reason goes to the string field
``F_error`` and the sample gets the tag ``F_failed``, so the App can filter failed samples and a
successful rerun clears both.
"""

from __future__ import annotations

import fiftyone as fo


def error_field(field: str) -> str:
    return f"{field}_error"


def failed_tag(field: str) -> str:
    return f"{field}_failed"


def mark(sample: fo.Sample, field: str, reason: str | None) -> None:
    """Set (reason) or clear (None) the failure record of ``sample`` for ``field``; no save."""
    sample[error_field(field)] = reason
    tag = failed_tag(field)
    if reason is not None and tag not in sample.tags:
        sample.tags.append(tag)
    elif reason is None and tag in sample.tags:
        sample.tags.remove(tag)
