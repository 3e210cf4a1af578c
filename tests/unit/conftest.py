"""tests/unit runs without a database and without FiftyOne: a test that loads FiftyOne (directly
or through ldfa code that should not need it) errors, named. When tests/integration runs in the
same session its conftest has loaded FiftyOne already, and there is nothing to check."""

import sys

import pytest


@pytest.fixture(autouse=True)
def loads_no_fiftyone():
    loaded_before = "fiftyone" in sys.modules
    yield
    assert loaded_before or "fiftyone" not in sys.modules, \
        "this test loaded FiftyOne: tests/unit must run without it (FiftyOne's tests go in tests/integration)"
