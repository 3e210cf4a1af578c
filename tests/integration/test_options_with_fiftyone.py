"""Config declarations drive the command line, the App's forms and the checks alike: the
declarations whose users import FiftyOne (the App's operators, the identity guard), kept out of
tests/unit, which loads no FiftyOne (``test_options.py`` holds the rest). No database is used."""

import pytest

from ldfa.cli import build_parser
from ldfa.cli.options import given
from ldfa.plugin.anonymization.config import AnonymizationConfig, DiffusionConfig
from ldfa.plugin.errors import ConfigError


def test_the_apps_form_takes_what_was_filled_in():
    from ldfa.operators.forms import given as form_given

    submitted = {"method": "pixelate", "pixel_blocks": 4, "model": "", "prompt": "", "seed": None,
                 "field": "anon_x", "view_target": "CURRENT_VIEW"}
    assert form_given(submitted, AnonymizationConfig, DiffusionConfig) == {
        "method": "pixelate", "pixel_blocks": 4, "prompt": ""}  # an empty model: the default


def test_the_identity_guard_reads_its_one_declaration():
    """The SDK's defaults, the commands' options and the checks all come from GuardConfig and
    GuardStep (the App's forms are built from them by ``add_inputs``)."""
    import inspect

    from ldfa.plugin.guard.config import GuardConfig, GuardStep
    from ldfa.plugin.guard.identity import guard_identity
    from ldfa.plugin.guard.step import anonymize_then_guard
    from ldfa.plugin.pipeline import anonymize_dataset

    def default(func, name):
        return inspect.signature(func).parameters[name].default

    assert default(guard_identity, "max_tries") == GuardConfig().max_tries
    assert default(anonymize_then_guard, "identity_guard") == default(anonymize_dataset, "identity_guard") \
        == GuardStep().identity_guard
    for command in (["anonymize", "--dataset", "d"], ["run", "photos", "--output", "out"]):
        assert given(build_parser().parse_args(command), GuardStep) == {}
        assert given(build_parser().parse_args([*command, "--identity-guard", "2"]), GuardStep) == {"identity_guard": 2}
    with pytest.raises(ConfigError, match="identity_guard must be >= 0, got -1"):
        anonymize_then_guard(None, identity_guard=-1)
    with pytest.raises(ConfigError, match="max_tries must be >= 0, got -1"):
        guard_identity(None, "anon", max_tries=-1)
