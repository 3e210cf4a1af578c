"""The method contract (tests/unit/test_method_contract.py) over every method that runs batched
(diffusion), with the tiny random-weight pipeline: the same tests, collected here too."""

import pytest
from unit.test_method_contract import *  # noqa: F403
from unit.test_method_contract import FAST

from ldfa.plugin.anonymization.methods import METHODS


@pytest.fixture(params=[name for name, method in METHODS.items() if method.batched])
def params(request, tiny_model) -> dict:
    return {"method": request.param, "model": tiny_model, **FAST}
