"""The documentation site: `mkdocs build --strict` passes offline, its reference is generated from
the code (so it names every option `--help` lists and cannot drift), every page is in its
navigation; the README is short, its links land, and it holds no copy of a page's text."""

import argparse
import html
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ldfa.cli import main
from ldfa.cli.options import add_options
from ldfa.plugin import schema
from ldfa.plugin.options import option

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
DOCS_EXTRA = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")


def hooks(name: str):
    """A module of docs/hooks, as mkdocs.yml's hook imports it (its folder on the path)."""
    if str(DOCS / "hooks") not in sys.path:
        sys.path.insert(0, str(DOCS / "hooks"))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    missing = [m for m in DOCS_EXTRA if importlib.util.find_spec(m.split(".")[0]) is None]
    if missing:
        pytest.skip(f"the docs extra is not installed ({', '.join(missing)} missing): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
                           "-d", str(out)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text()


def test_every_page_is_built_and_the_site_loads_nothing_from_the_network(site):
    for source in DOCS.rglob("*.md"):
        built = source.relative_to(DOCS).with_suffix("")
        assert (site / ("" if built.name == "index" else built) / "index.html").is_file(), source
    for built in site.rglob("*.html"):
        text = built.read_text()
        remote = re.findall(r"<(?:link|script|img)\b[^>]*(?:href|src)=\"(?:https?:)?//[^\"]+", text)
        assert not remote, f"{built.relative_to(site)} loads {remote}"
        assert "fonts.googleapis" not in text and "googletagmanager" not in text


def names_in(invocation: str) -> set[str]:
    """The flags of an option's invocation (`-h, --help`, `--people-field FIELD [FIELD ...]`), or
    the name of a positional argument."""
    return set(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", invocation)) if invocation.startswith("-") else {invocation}


def help_names(command: str, capsys) -> set[str]:
    """The options (every flag) and positional arguments `ldfa COMMAND --help` lists."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    names, section = set(), None
    for line in capsys.readouterr().out.splitlines():
        if line and not line.startswith(" "):
            section = line
        elif match := re.match(r"^  (\S.*?)(?:\s{2,}|$)", line):
            if match.group(1).startswith("-") or section == "positional arguments:":
                names |= names_in(match.group(1))
    return names


def test_the_cli_reference_names_every_option_that_help_lists(capsys):
    cli = hooks("cli_reference")
    commands = cli.commands()
    assert len(commands) >= 10
    for name, parser in commands.items():
        listed = help_names(name, capsys)
        assert "--help" in listed and len(listed) > 2, name
        cells = re.findall(r"^\| `([^`]+)` \|", cli.render_command(name, parser), re.M)
        assert not listed - set().union(*map(names_in, cells)), f"ldfa {name}: missing from its reference"


def test_the_built_cli_page_holds_every_option_of_every_command(site, capsys):
    built = html.unescape(page(site, "reference/cli"))
    for name in hooks("cli_reference").commands():
        start = built.index(f'<h2 id="ldfa-{name}"')
        section = built[start:built.find("<h2 ", start + 1)]
        cells = re.findall(r"<tr>\s*<td><code>([^<]+)</code></td>", section)
        assert not help_names(name, capsys) - set().union(*map(names_in, cells)), f"ldfa {name}: missing"


@dataclass(frozen=True)
class Toy:
    """A config no command has: what the reference shows of it came from its declarations."""

    quality: int = option(7, "how good the toy is", low=1, high=9)
    mode: str = option("fast", "how the toy runs", choices=("fast", "slow"))
    dry_run: bool = option(False, "only say what the toy would do")


def test_an_option_declared_in_a_config_reaches_the_reference_with_nothing_by_hand():
    cli = hooks("cli_reference")
    parser = argparse.ArgumentParser(prog="ldfa toy", description="A toy command.")
    add_options(parser, Toy, group="toy")
    rows = {row.flags: row for row in cli.rows(parser)}
    assert rows[("--quality",)] == cli.Row("--quality QUALITY", ("--quality",), "how good the toy is (default: 7)",
                                           "7", None, False, "toy")
    assert rows[("--mode",)].choices == ("fast", "slow") and rows[("--mode",)].default == "fast"
    assert rows[("--dry-run",)].default is None
    text = cli.render_command("toy", parser)
    assert "| `--quality QUALITY` | how good the toy is | `7` |  |" in text
    assert "| `--mode {fast,slow}` | how the toy runs | `fast` | `fast`, `slow` |" in text
    assert "| `--dry-run` | only say what the toy would do |  |  |" in text


def test_the_reference_is_what_the_parsers_declare():
    """Row for row the actions --help prints, each help line whole (its stated default moved to
    its own column), and the page in docs/ holds no copy, only the line that asks for it."""
    cli = hooks("cli_reference")
    for name, parser in cli.commands().items():
        formatter = parser._get_formatter()
        shown = [a for a in parser._actions if a.help != argparse.SUPPRESS]
        assert sorted(row.flags or (row.invocation,) for row in cli.rows(parser)) == \
               sorted(tuple(a.option_strings) or (formatter._format_action_invocation(a),) for a in shown)
        section = cli.render_command(name, parser)
        for row in cli.rows(parser):
            told = cli.STATED_DEFAULT.sub("", row.help) if row.default is not None else row.help
            assert hooks("markdown_cells").text(told) in section, (name, row.flags)
    source = (DOCS / "reference" / "cli.md").read_text()
    assert "<!-- generated: cli -->" in source and "--dataset" not in source


def test_the_schema_reference_names_every_field_run_key_and_view():
    reference = hooks("schema_reference")
    defined = {name for name, value in vars(schema).items() if not name.startswith("_")
               and getattr(value, "__module__", schema.__name__) == schema.__name__
               and not isinstance(value, type(schema))}
    assert {n.name for n in reference.names()} == defined
    text = reference.render()
    for name in defined:
        assert f"`{name}`" in text, name
    views = text.split("## Saved views", 1)[1].split("\n## ", 1)[0]
    assert f"`{schema.faces_under_view()}`" in views and f"`{schema.UNCERTAIN_FACES_VIEW}`" in views
    assert "`ldfa-<status>-<version>`" in views  # queue_view, its arguments as placeholders
    kinds = reference.run_kinds()
    assert schema.DETECT in kinds.values() and schema.IDENTITY in kinds.values()
    for kind in kinds.values():
        assert f"`{schema.run_key(kind, 'FIELD').replace('FIELD', '<field>')}`" in text


def test_the_built_reference_pages(site):
    import ldfa

    sdk = page(site, "reference/sdk")
    assert all(f'id="{module}.{name}"' in sdk for name, module in ldfa._SDK.items())
    built = html.unescape(page(site, "reference/schema"))
    assert schema.faces_under_view() in built and "ldfa_detect_<field>" in built
    assert "Exit status" in page(site, "reference/conventions")


README = REPO / "README.md"
NAV_PAGE = re.compile(r"^\s*-[^:]*:\s*(\S+\.md)\s*$", re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def nav_pages() -> list[str]:
    return NAV_PAGE.findall((REPO / "mkdocs.yml").read_text())


def test_the_readme_is_short_and_every_page_is_in_the_navigation():
    assert len(README.read_text().splitlines()) <= 200
    nav = nav_pages()
    assert len(nav) == len(set(nav)) and all((DOCS / page).is_file() for page in nav), nav
    assert sorted(nav) == sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
                                 if "hooks" not in p.parts)


def test_the_pages_hold_their_own_text_and_the_readme_none_of_theirs():
    """No page pulls text in from elsewhere (snippets), and no line of the README (50 characters
    or more) is repeated on a page: each text has one home."""
    readme = README.read_text()
    pages = {p: p.read_text() for p in DOCS.rglob("*.md")}
    assert "--8<--" not in readme and not [p for p, text in pages.items() if "--8<--" in text]
    long = [line.strip() for line in readme.splitlines() if len(line.strip()) >= 50]
    twins = [(line, p.name) for line in long for p, text in pages.items() if line in text]
    assert not twins, twins


def test_every_readme_link_resolves(site):
    """Every relative link of the README names a file of the repository, and a heading's anchor
    on a docs page exists in the built page; the pages it links to are in the site."""
    links = [target for target in LINK.findall(README.read_text()) if not target.startswith(("http:", "https:"))]
    assert len(links) >= 10
    for target in links:
        path, _, anchor = target.partition("#")
        assert path and (REPO / path).is_file(), target
        if anchor:
            assert path.startswith("docs/") and path.endswith(".md"), target
            built = Path(path[len("docs/"):]).with_suffix("")
            built = site / ("" if built.name == "index" else built) / "index.html"
            assert f'id="{anchor}"' in built.read_text(), target
