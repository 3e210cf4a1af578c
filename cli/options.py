"""Command-line options made from config declarations (``ldfa.plugin.options``).

Every option of a config becomes ``--its-name`` (or the flag it declares) with its help line,
choices and type; its argparse default is None, so only what the user typed is passed on and
the config's own default applies otherwise (the help says which).
"""

from __future__ import annotations

from ldfa.plugin.options import options


def add_options(parser, config_cls, skip: tuple[str, ...] = (), group: str | None = None) -> None:
    """Add an option for every declared field of ``config_cls`` except those in ``skip``."""
    target = parser.add_argument_group(group) if group else parser
    for opt in options(config_cls):
        if opt.name in skip:
            continue
        kwargs = {"dest": opt.name, "default": None, "help": _help(opt).replace("%", "%%")}
        if opt.kind is bool:
            kwargs.update(action="store_const", const=True)
        elif opt.kind is tuple:
            kwargs.update(nargs=len(opt.default), type=type(opt.default[0]), metavar="N")
        else:
            kwargs.update(type=opt.kind, choices=opt.choices)
        target.add_argument(opt.flag, **kwargs)


def _help(opt) -> str:
    """The option's help line with its default, unless the line already says it."""
    if opt.kind is bool or opt.default is None or "default" in opt.help:
        return opt.help
    shown = " ".join(map(str, opt.default)) if opt.kind is tuple else opt.default
    return f"{opt.help} (default: {shown if shown != '' else 'none'})"


def given(args, *config_classes, skip: tuple[str, ...] = ()) -> dict:
    """The options of ``config_classes`` the user gave, by field name."""
    names = [o.name for cls in config_classes for o in options(cls) if o.name not in skip]
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
