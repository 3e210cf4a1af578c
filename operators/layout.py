"""How the App is laid out for an audit: panel names, the split screen, which version first."""

from __future__ import annotations

AUDIT_PANEL = "anonymization_audit"
SIDE_BY_SIDE_PANEL = "side_by_side"


def audit_spaces():
    """App layout with the sample grid beside the audit panel (``fo.launch_app(..., spaces=)``).

    Each side names its tab as the active child: without it the App draws the tabs but leaves
    both bodies empty.
    """
    import fiftyone as fo

    grid = fo.Panel(type="Samples", pinned=True)
    audit = fo.Panel(type=AUDIT_PANEL)
    return fo.Space(children=[fo.Space(children=[grid], active_child=grid.component_id),
                              fo.Space(children=[audit], active_child=audit.component_id)],
                    orientation="horizontal", sizes=[0.45, 0.55])


def preferred_field(fields: list[str], group_slice: str | None = None) -> str | None:
    """The version a reviewer acts on first: the slice on screen, else LDFA's, else the first."""
    if group_slice in fields:
        return group_slice
    return next((f for f in fields if f.endswith("_ldfa")), fields[0] if fields else None)
