"""The README's sections in the site, and its links made to work there.

The guide, result, method and design pages pull README.md's sections in with pymdownx.snippets
(``--8<-- "README.md:name"``, between ``<!-- --8<-- [start:name] -->`` and ``[end:name]``). The
README links to its own headings (``#detect-faces``) and to its pictures (``docs/audit.png``); in
the site those live on other pages, so a Markdown preprocessor, run after the snippets are in,
points each link at the page that now holds its heading. A link it cannot place is left as it
is, and ``mkdocs build --strict`` fails on it.
"""

from __future__ import annotations

import re
from pathlib import Path

from markdown import Extension
from markdown.extensions.toc import slugify
from markdown.preprocessors import Preprocessor

MARKER = re.compile(r"--8<--\s+\[(start|end):([a-z][-_0-9a-z]*)\]")
INCLUDE = re.compile(r'^\s*--8<--\s+"README\.md:([a-z][-_0-9a-z]*)"\s*$')
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"(\]\()(#[^)\s]+|docs/[^)\s]+)(\))")
FENCE = re.compile(r"^\s*(```|~~~)")


def included(docs_dir: Path) -> dict[str, list[str]]:
    """Each README section the pages include, with the pages (paths below ``docs_dir``) that do."""
    found: dict[str, list[str]] = {}
    for page in sorted(docs_dir.rglob("*.md")):
        for line in page.read_text().splitlines():
            if match := INCLUDE.match(line):
                found.setdefault(match.group(1), []).append(page.relative_to(docs_dir).as_posix())
    return found


def sections(readme: str) -> list[tuple[str | None, str]]:
    """Each line of the README outside the section markers, with the section it lies in (or None)."""
    found, current = [], None
    for line in readme.splitlines():
        if match := MARKER.search(line):
            kind, name = match.groups()
            current = name if kind == "start" else None
            continue
        found.append((current, line))
    return found


def headings(readme: str) -> list[tuple[str, str | None, str]]:
    """Each heading of the README: (its text, the section it lies in or else the next section
    to start after it, whether it lies inside: "in" or "before")."""
    lines = sections(readme)
    found, fenced = [], False
    for index, (section, line) in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            following = next((s for s, _ in lines[index + 1:] if s is not None), None)
            found.append((match.group(2), section or following, "in" if section else "before"))
    return found


def github_slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def anchors(readme: str, docs_dir: Path) -> dict[str, str]:
    """Each README anchor (``#detect-faces``) -> its place in the site, as a link from the docs
    root (``/guides/detect.md``, ``/results.md#which-detector-measured``)."""
    pages = {name: found[0] for name, found in included(docs_dir).items()}
    places = {}
    for title, section, where in headings(readme):
        if section in pages:
            page = "/" + pages[section]
            places["#" + github_slug(title)] = page + ("#" + slugify(title, "-") if where == "in" else "")
    return places


class ReadmeLinks(Extension):
    """Rewrites the README's links in every page, after pymdownx.snippets has put them in."""

    def __init__(self, places: dict[str, str]):
        super().__init__()
        self.places = places

    def extendMarkdown(self, md):  # noqa: N802 (Markdown's name)
        md.preprocessors.register(_Rewrite(md, self.places), "ldfa_readme_links", 25)  # snippets: 32


class _Rewrite(Preprocessor):
    def __init__(self, md, places: dict[str, str]):
        super().__init__(md)
        self.places = places

    def run(self, lines: list[str]) -> list[str]:
        out, fenced = [], False
        for line in lines:
            if FENCE.match(line):
                fenced = not fenced
            out.append(line if fenced else LINK.sub(self._place, line))
        return out

    def _place(self, match: re.Match) -> str:
        target = match.group(2)
        target = target[len("docs"):] if target.startswith("docs/") else self.places.get(target, target)
        return match.group(1) + target + match.group(3)
