"""Test session set-up: a private FiftyOne database, started once, and shared fixtures.

FiftyOne reads its database location when it is first imported, so the environment is set
here, at import time of the conftest, before any test module imports fiftyone or ldfa.
"""

import os
import uuid
from pathlib import Path

import pytest
from private_db import use_private_database

_SESSION_DIR = use_private_database("ldfa-tests")
os.environ["FIFTYONE_PLUGINS_DIR"] = str(_SESSION_DIR / "plugins")
(_SESSION_DIR / "plugins").mkdir()
# FiftyOne finds plugins by walking its plugins folder for fiftyone.yml: link the repo there.
(_SESSION_DIR / "plugins" / "ldfa").symlink_to(Path(__file__).resolve().parents[1])

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def fo():
    """FiftyOne with this session's database started (once)."""
    import fiftyone

    fiftyone.Dataset()  # starts mongod for the session; the throwaway dataset is not persistent
    return fiftyone


@pytest.fixture
def dataset(fo, request):
    """A fresh, empty dataset named after the test, deleted afterwards."""
    ds = fo.Dataset(f"{request.node.name[:60]}-{uuid.uuid4().hex[:6]}")
    yield ds
    if not ds.deleted:
        ds.delete()


@pytest.fixture(scope="session")
def shared_data():
    """../shared/data beside the checkout; tests that need it skip, saying why, without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared test photos at {SHARED_DATA} (not part of a fresh clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_photos(tmp_path_factory):
    """The public-domain photos that ship inside installed packages, written as files."""
    from ldfa.plugin.sample_photos import write_sample_photos

    return write_sample_photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="session")
def bench_module():
    """Import a module of bench/ (shared helpers of benchmarks and tests) by name."""
    import importlib.util

    def load(name):
        spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny random-weight inpainting pipeline folder (tests/tiny_pipeline.py), built once."""
    from tiny_pipeline import build

    return str(build(tmp_path_factory.mktemp("tiny-sd")))
