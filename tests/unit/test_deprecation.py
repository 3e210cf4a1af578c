"""Renamed keyword arguments: the old name works, warns naming the new one, and clashes loudly."""

import warnings

import pytest

from ldfa.plugin.deprecation import renamed
from ldfa.plugin.errors import ConfigError


@renamed(out_field="field", detector=("detection", lambda name: {"detector": name}))
def run(collection, field=None, detection=None, **params):
    return collection, field, detection, params


def test_the_old_name_works_and_warns_with_the_new_one():
    with pytest.warns(DeprecationWarning, match=r"run: out_field= is now field= \(out_field goes in 0\.3\)"):
        old = run("c", out_field="anon", seed=1)
    assert old == run("c", field="anon", seed=1) == ("c", "anon", None, {"seed": 1})
    with pytest.warns(DeprecationWarning, match="detector= is now detection="):
        assert run("c", detector="yunet")[2] == {"detector": "yunet"}


def test_the_warning_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run("c", out_field="anon")
    assert caught[0].filename == __file__


@pytest.mark.parametrize("call", [lambda: run("c", out_field="a", field="b"),
                                  lambda: run("c", "b", out_field="a")])  # the new one by position
def test_old_and_new_name_together_is_an_error(call):
    with pytest.raises(ConfigError, match="out_field is the old name of field; give only field"):
        call()


def test_new_names_alone_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run("c", field="anon") == ("c", "anon", None, {})
