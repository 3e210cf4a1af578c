"""Fixtures for every test; none needs a database or a model.

``tests/unit`` uses only these. ``tests/integration/conftest.py`` adds a private FiftyOne
database, datasets and the tiny diffusion model. Helpers shared with the benchmarks live in
``ldfa.testing``.
"""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """../shared/data beside the checkout; tests that need it skip, saying why, without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared test photos at {SHARED_DATA} (not part of a fresh clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_photos(tmp_path_factory):
    """The public-domain photos that ship inside installed packages, written as files."""
    from ldfa.plugin.io.sample_photos import write_sample_photos

    return write_sample_photos(tmp_path_factory.mktemp("photos"))
