"""Text from the code (help lines, docstrings, comments) made safe for a Markdown table cell."""

from __future__ import annotations

import html
import re


def text(value: str) -> str:
    """One line; code spans (``x`` or `x`) kept, HTML, table pipes and stars escaped outside them."""
    spans = re.split(r"(`[^`]*`)", " ".join(value.replace("``", "`").split()))
    return "".join(s if s.startswith("`") else html.escape(s, quote=False).replace("|", r"\|").replace("*", r"\*")
                   for s in spans)


def code(value: str) -> str:
    return f"`{value}`"
