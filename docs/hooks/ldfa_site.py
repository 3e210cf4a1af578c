"""MkDocs hooks of the ldfa site (mkdocs.yml ``hooks:``).

A page asks for a generated part with a line ``<!-- generated: NAME -->``; it is filled in at
every build from the code, so the reference pages hold nothing copied by hand:

- ``cli``: every command and option, from the parsers ``ldfa`` builds (``cli_reference``);
- ``schema``: every field, run key and saved view of ``ldfa.plugin.schema`` (``schema_reference``);
- ``sdk``: mkdocstrings' ``:::`` block for each name ``import ldfa`` exports.

mkdocstrings reads the package from ``build/docs-python/ldfa``, links to the package's own parts:
the repository root is the package (``package-dir``), and griffe would otherwise walk all of it,
``.venv`` included.
"""

from __future__ import annotations

import re
from pathlib import Path

import cli_reference
import schema_reference

import ldfa

GENERATED = re.compile(r"^<!-- generated: (\w+) -->$", re.M)
ROOT = Path(__file__).resolve().parents[2]  # where mkdocs.yml is
PYTHON_PATH = "build/docs-python"  # mkdocs.yml: mkdocstrings' python handler's ``paths``


def sdk() -> str:
    """One mkdocstrings block per SDK name, in the order ``ldfa`` lists them."""
    return "\n\n".join(f"::: {module}.{name}" for name, module in ldfa._SDK.items())


PARTS = {"cli": cli_reference.render, "schema": schema_reference.render, "sdk": sdk}


def package_view(root: Path) -> Path:
    """``root/build/docs-python/ldfa``: the package's ``__init__.py`` and subpackages, linked."""
    package = Path(ldfa.__file__).resolve().parent
    view = root / PYTHON_PATH / "ldfa"
    view.mkdir(parents=True, exist_ok=True)
    for part in [package / "__init__.py", *sorted(p.parent for p in package.glob("*/__init__.py"))]:
        link = view / part.name
        if not link.is_symlink():
            link.symlink_to(part)
    return view


def on_startup(command: str, dirty: bool) -> None:
    package_view(ROOT)  # before mkdocstrings reads its paths (its config event runs before ours)


def on_page_markdown(markdown: str, page, config, files) -> str:
    def part(match: re.Match) -> str:
        if match.group(1) not in PARTS:
            raise ValueError(f"{page.file.src_uri}: no generated part {match.group(1)!r}; one of {', '.join(PARTS)}")
        return PARTS[match.group(1)]()

    return GENERATED.sub(part, markdown)
