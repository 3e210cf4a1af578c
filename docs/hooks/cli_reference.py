"""The command-line reference, generated from the parsers ``ldfa`` itself builds.

Every row comes from an argparse action of ``ldfa.cli.build_parser()``, whose config options are
made from the config declarations (``ldfa.cli.options``): an option added there appears here at
the next build, with nothing copied by hand, so the reference cannot drift from ``--help``.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from markdown_cells import code, text

from ldfa.cli import build_parser

# The "(default: X)" that ``ldfa.cli.options`` appends to a config option's help line.
STATED_DEFAULT = re.compile(r"\s*\(default: ([^()]*)\)$")


@dataclass(frozen=True)
class Row:
    """One argument as ``--help`` lists it."""

    invocation: str  # "-h, --help", "--dataset DATASET", "format"
    flags: tuple[str, ...]  # the option strings; () for a positional argument
    help: str  # the whole help line, as --help prints it
    default: str | None  # the argparse default, else the default the help line states
    choices: tuple[str, ...] | None
    required: bool
    group: str  # the --help section: "positional arguments", "options", "detection", ...


def commands(parser: argparse.ArgumentParser | None = None) -> dict[str, argparse.ArgumentParser]:
    """Each command's parser by name, in the order ``ldfa --help`` lists them."""
    parser = parser or build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def summaries(parser: argparse.ArgumentParser | None = None) -> dict[str, str]:
    """Each command's one-line help, as ``ldfa --help`` shows it."""
    parser = parser or build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {choice.dest: choice.help for choice in sub._choices_actions}


def rows(parser: argparse.ArgumentParser) -> list[Row]:
    """Every argument ``parser``'s ``--help`` lists, section by section."""
    formatter = parser._get_formatter()
    found = []
    for group in parser._action_groups:
        for action in group._group_actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
                continue
            said = formatter._expand_help(action) if action.help else ""
            found.append(Row(formatter._format_action_invocation(action), tuple(action.option_strings), said,
                             _default(action, said), tuple(map(str, action.choices)) if action.choices else None,
                             bool(action.required), group.title))
    return found


def _default(action: argparse.Action, said: str) -> str | None:
    if action.nargs == 0:  # a flag: given or not
        return None
    if action.default not in (None, argparse.SUPPRESS):
        value = action.default
        return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    stated = STATED_DEFAULT.search(said)
    return stated.group(1) if stated else None


def render(parser: argparse.ArgumentParser | None = None) -> str:
    """The whole reference as Markdown: the global options, then one section per command."""
    parser = parser or build_parser()
    described = summaries(parser)
    parts = ["## ldfa", "", text(parser.description or ""), "", _usage(parser), "", _table(rows(parser)), "",
             "| command | what it does |", "|---|---|",
             *[f"| [`ldfa {name}`](#ldfa-{name}) | {text(described[name] or '')} |" for name in commands(parser)]]
    for name, command in commands(parser).items():
        parts += ["", render_command(name, command)]
    return "\n".join(parts) + "\n"


def render_command(name: str, command: argparse.ArgumentParser) -> str:
    """One command's section: its description, usage and a table per ``--help`` section."""
    parts = [f"## ldfa {name}", "", text(command.description or ""), "", _usage(command)]
    found = rows(command)
    for group in dict.fromkeys(row.group for row in found):
        parts += ["", f"**{text(group)}**", "", _table([row for row in found if row.group == group])]
    return "\n".join(parts)


def _usage(parser: argparse.ArgumentParser) -> str:
    return "```text\n" + parser.format_usage().strip() + "\n```"


def _table(found: list[Row]) -> str:
    lines = ["| option | meaning | default | choices |", "|---|---|---|---|"]
    for row in found:
        meaning = STATED_DEFAULT.sub("", row.help) if row.default is not None else row.help
        meaning = text(meaning) + (" *(required)*" if row.required and row.flags else "")
        default = "" if row.default is None else text(row.default) if " " in row.default else code(row.default or "''")
        choices = ", ".join(code(c) for c in row.choices) if row.choices else ""
        lines.append(f"| {code(row.invocation)} | {meaning} | {default} | {choices} |")
    return "\n".join(lines)

