"""Operator form fields made from config declarations (``ldfa.plugin.options``).

A config field the App should show (``ui=True``) becomes one form input with the field's help as
its description and its default, choices and bounds; ``given`` reads the submitted values back
by field name, leaving out what the form left empty so the config's default applies.
"""

from __future__ import annotations

import fiftyone.operators.types as types

from ldfa.plugin.options import options
from ldfa.plugin.runs import anonymized_fields


def add_inputs(inputs: types.Object, config_cls, skip: tuple[str, ...] = ()) -> None:
    """One input per shown field of ``config_cls``, except those in ``skip``."""
    for opt in options(config_cls):
        if not opt.ui or opt.name in skip:
            continue
        common = {"label": opt.name.replace("_", " ").capitalize(), "description": opt.help}
        if opt.default is not None:
            common["default"] = opt.default
        if opt.choices:
            inputs.enum(opt.name, list(opt.choices), view=dropdown(opt.choices), **common)
        elif opt.kind is bool:
            inputs.bool(opt.name, **common)
        elif opt.kind in (int, float):
            add = inputs.int if opt.kind is int else inputs.float
            add(opt.name, min=opt.low, max=opt.high, **common)
        else:
            inputs.str(opt.name, allow_empty=True, **common)


def given(params: dict, *config_classes) -> dict:
    """The submitted values of ``config_classes``' fields, by name; a field left empty is left
    out (its config default applies) unless empty is its default (a prompt)."""
    declared = {o.name: o for cls in config_classes for o in options(cls)}
    return {k: v for k, v in params.items()
            if k in declared and v is not None and (v != "" or declared[k].default == "")}


def dropdown(choices, labels: dict | None = None) -> types.Dropdown:
    """A dropdown of ``choices``, each labelled by ``labels`` where given."""
    view = types.Dropdown()
    for choice in choices:
        view.add_choice(choice, label=(labels or {}).get(choice, str(choice)))
    return view


def version_input(ctx, inputs: types.Object, name: str = "field",
                  label: str = "Anonymized field") -> None:
    """A required choice among the dataset's anonymized versions, named with their methods."""
    fields = anonymized_fields(ctx.dataset)
    labels = {field: f"{field} ({method})" for field, method in fields.items()}
    inputs.enum(name, list(fields), required=True, view=dropdown(fields, labels), label=label,
                default=next(iter(fields), None))
