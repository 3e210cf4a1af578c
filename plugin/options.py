"""Config fields that describe themselves.

A run's config is a frozen dataclass; each field is declared once with ``option(...)``: its
default, a help line, and where it has them its choices and bounds. The command line
(``ldfa.cli.options``) and the App's forms (``ldfa.operators.forms``) are generated from these
declarations, and ``check`` validates a config against them, so a new parameter is added in
one place and the three can never disagree.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

from ldfa.plugin.errors import ConfigError


def option(default, help: str, *, choices=None, low=None, high=None, cli: str | None = None,
           ui: bool = True):
    """A config field: its ``default`` (immutable: configs are frozen), a one-line ``help``,
    allowed ``choices``, inclusive bounds ``low``/``high``, the CLI flag when it is not the
    field's name (``cli="--steps"``), and ``ui=False`` for fields the App's forms leave out."""
    metadata = {"help": help, "choices": choices, "low": low, "high": high, "cli": cli, "ui": ui}
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Option:
    """One declared field, as the CLI and the forms see it."""

    name: str
    kind: type  # int, float, str, bool, or tuple for tuples
    default: object
    help: str
    choices: tuple | None
    low: float | None
    high: float | None
    flag: str  # the CLI flag
    ui: bool
    optional: bool  # None is allowed (meaning "decide for me")


def options(cls) -> list[Option]:
    """The declared fields of config class ``cls`` (nested configs excluded)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata:
            continue
        hint = hints[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        base = args[0] if args and typing.get_origin(hint) is not tuple else hint
        kind = tuple if typing.get_origin(base) is tuple or base is tuple else base
        meta = f.metadata
        out.append(Option(f.name, kind, f.default, meta["help"],
                          tuple(meta["choices"]) if meta["choices"] else None, meta["low"],
                          meta["high"], meta["cli"] or "--" + f.name.replace("_", "-"),
                          meta["ui"], type(None) in typing.get_args(hint)))
    return out


def refuse_unknown(cls, params, what: str) -> None:
    """Raise ``ConfigError`` naming every one of ``params`` that is no field of ``cls`` (``what``:
    the kind of parameter, e.g. ``detection``), so a misspelt option never passes silently."""
    unknown = sorted(set(params) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ConfigError(f"unknown {what} parameter(s): {', '.join(unknown)}")


def check(config) -> None:
    """Raise ``ConfigError`` for the first field of ``config`` outside its choices or bounds."""
    for opt in options(type(config)):
        value = getattr(config, opt.name)
        if value is None and opt.optional:
            continue
        if opt.choices and value not in opt.choices:
            raise ConfigError(f"unknown {opt.name} {value!r}; choose one of {', '.join(map(str, opt.choices))}")
        if opt.low is not None and value < opt.low or opt.high is not None and value > opt.high:
            bounds = " and ".join(b for b in (f">= {opt.low}" if opt.low is not None else "",
                                               f"<= {opt.high}" if opt.high is not None else "") if b)
            raise ConfigError(f"{opt.name} must be {bounds}, got {value}")
