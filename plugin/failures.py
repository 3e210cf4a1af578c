"""Per-sample failures: recorded on the sample (a field and a tag), listed in run summaries.

A bad image never stops a batch. For an output field ``F`` the reason goes to the string field
``F_error`` and the sample gets the tag ``F_failed``, so the App can filter failed samples and a
successful rerun clears both.
"""

from __future__ import annotations

import fiftyone as fo

from ldfa.plugin.schema import error_field, failed_tag


def record(collection: fo.core.collections.SampleCollection, field: str,
           reasons: dict[str, str | None]) -> None:
    """Record a batch's outcome: ``reasons`` maps sample ids to a reason or None (success)."""
    if not reasons:
        return
    if not collection.has_field(error_field(field)):
        collection._dataset.add_sample_field(error_field(field), fo.StringField)
    collection.set_values(error_field(field), reasons, key_field="id")
    failed = [i for i, r in reasons.items() if r is not None]
    ok = [i for i, r in reasons.items() if r is None]
    if failed:
        collection.select(failed).tag_samples(failed_tag(field))
    if ok:
        collection.select(ok).untag_samples(failed_tag(field))
