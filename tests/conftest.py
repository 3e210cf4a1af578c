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
def database_folder():
    """This session's private database server's folder (tests/private_db.py)."""
    return _SESSION_DIR


@pytest.fixture(scope="session")
def fo():
    """FiftyOne, connected to this session's private database server."""
    import fiftyone

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


ASTRONAUT_FACE = (0.36, 0.08, 0.2, 0.3)
HOPPER_FACE = (0.3, 0.15, 0.35, 0.3)
TINY_FACE = (0.02, 0.02, 0.03, 0.03)  # ~15 px on the 512 px astronaut: a "small face"


@pytest.fixture
def audited(dataset, sample_photos, tmp_path):
    """Two photos, real classic anonymization, and metrics in the shared data model.

    Identity distances and the detection eval are written as the metrics side writes them (a
    float per face, an eval-key attribute, run records) so that no model has to load here.
    """
    import fiftyone as fo

    import ldfa
    from ldfa.plugin.runs import record_run, run_key

    def faces(*boxes):
        return fo.Detections(detections=[fo.Detection(label="face", bounding_box=list(b),
                                                      confidence=0.9) for b in boxes])

    png, jpg = sample_photos
    dataset.add_samples([fo.Sample(filepath=str(png), faces=faces(ASTRONAUT_FACE, TINY_FACE)),
                         fo.Sample(filepath=str(jpg), faces=faces(HOPPER_FACE))])
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "solid", progress=False)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "pix", progress=False)
    distances = {"anon_solid": [0.9, 0.2, 0.35], "anon_pixelate": [0.1, 0.5, 0.7]}
    eval_results = {"anon_solid": ["tp", "fn", "tp"], "anon_pixelate": ["fn", "fn", "tp"]}
    for field in distances:
        dataset.add_sample_field(f"faces.detections.{field}_facenet_dist", fo.FloatField)
        dataset.add_sample_field(f"faces.detections.eval_{field}_det", fo.StringField)
        values = iter(zip(distances[field], eval_results[field]))
        for sample in dataset.iter_samples(autosave=True):
            for face in sample.faces.detections:
                face[f"{field}_facenet_dist"], face[f"eval_{field}_det"] = next(values)
        record_run(dataset, run_key("identity", field),
                   {"anon_field": field, "thresholds": {"facenet": 0.4}},
                   {"embedders": {"facenet": {"mean": sum(distances[field]) / 3,
                                              "within_threshold": 2 / 3}}})
        record_run(dataset, run_key("detection", f"{field}_det"), {"anon_field": field},
                   {"faces": 3, "mAP": 0.5, "mAP_s": 0.1, "mAP_m": 0.6, "mAP_l": 0.8})
    return dataset
