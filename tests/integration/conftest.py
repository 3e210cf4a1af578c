"""Integration set-up: a private FiftyOne database, started once, and the fixtures that use it.

The database is this process's own server (``ldfa_testing.private_db``), started when this file
is imported: before any test touches FiftyOne's database, never a user's.
"""

import os
import uuid
from pathlib import Path

import pytest

from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, TINY_FACE, face_labels
from ldfa_testing.private_db import use_private_database

_SESSION_DIR = use_private_database("ldfa-tests")
# FiftyOne finds plugins by walking its plugins folder for fiftyone.yml: link the repo there.
_PLUGINS = _SESSION_DIR / "plugins"
_PLUGINS.mkdir()
(_PLUGINS / "ldfa").symlink_to(Path(__file__).resolve().parents[2])
os.environ["FIFTYONE_PLUGINS_DIR"] = str(_PLUGINS)  # for the App server and CLI processes too


@pytest.fixture(scope="session")
def database_folder():
    """This session's private database server's folder."""
    return _SESSION_DIR


@pytest.fixture(scope="session")
def fo():
    """FiftyOne, connected to this session's private database server, finding the plugin."""
    import fiftyone

    fiftyone.config.plugins_dir = str(_PLUGINS)
    return fiftyone


@pytest.fixture
def dataset(fo, request):
    """A fresh, empty dataset named after the test, deleted afterwards."""
    ds = fo.Dataset(f"{request.node.name[:60]}-{uuid.uuid4().hex[:6]}")
    yield ds
    if not ds.deleted:
        ds.delete()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny random-weight inpainting pipeline folder (``ldfa_testing.tiny_pipeline``), built once."""
    from ldfa_testing.tiny_pipeline import build

    return str(build(tmp_path_factory.mktemp("tiny-sd")))


@pytest.fixture
def audited(dataset, sample_photos, tmp_path):
    """Two photos, real classic anonymization, and metrics in the shared data model.

    Identity distances and the detection eval are written as the metrics side writes them (a
    float per face with its verdict from ``same_person_verdict``, an eval-key attribute, run
    records with the names ``ldfa.plugin.schema`` gives) so that no model has to load here.
    """
    import fiftyone as fo

    import ldfa
    from ldfa.plugin.metrics.verdict import ratio_to_threshold, review_status, same_person_verdict
    from ldfa.plugin.runs import record_run
    from ldfa.plugin.schema import (
        DETECTION_EVAL,
        IDENTITY,
        eval_key,
        face_status,
        identity_distance,
        predictions,
        run_key,
        same_person,
        threshold_ratio,
    )

    png, jpg = sample_photos
    dataset.add_samples([fo.Sample(filepath=str(png), faces=face_labels(ASTRONAUT_FACE, TINY_FACE)),
                         fo.Sample(filepath=str(jpg), faces=face_labels(HOPPER_FACE))])
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "solid", progress=False)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "pix", progress=False)
    distances = {"anon_solid": [0.9, 0.2, 0.35], "anon_pixelate": [0.1, 0.5, 0.7]}
    eval_results = {"anon_solid": ["tp", "fn", "tp"], "anon_pixelate": ["fn", "fn", "tp"]}
    for field in distances:
        dist, key = identity_distance(field, "facenet"), eval_key(predictions(field))
        dataset.add_sample_field(f"faces.detections.{dist}", fo.FloatField)
        dataset.add_sample_field(f"faces.detections.{key}", fo.StringField)
        dataset.add_sample_field(f"faces.detections.{same_person(field)}", fo.BooleanField)
        dataset.add_sample_field(f"faces.detections.{threshold_ratio(field)}", fo.FloatField)
        dataset.add_sample_field(f"faces.detections.{face_status(field)}", fo.StringField)
        values = iter(zip(distances[field], eval_results[field]))
        for sample in dataset.iter_samples(autosave=True):
            for face in sample.faces.detections:
                face[dist], face[key] = next(values)
                judged = ({"facenet": face[dist]}, {"facenet": 0.4})
                face[same_person(field)] = same_person_verdict(*judged)
                face[threshold_ratio(field)] = ratio_to_threshold(*judged)
                face[face_status(field)] = review_status(face[same_person(field)], None)
        record_run(dataset, run_key(IDENTITY, field),
                   {"field": field, "embedders": ["facenet"], "thresholds": {"facenet": 0.4},
                    "faces_field": "faces"},
                   {"embedders": {"facenet": {"mean": sum(distances[field]) / 3,
                                              "within_threshold": 2 / 3}}})
        record_run(dataset, run_key(DETECTION_EVAL, field),
                   {"field": field, "gt_field": "faces", "pred_field": predictions(field),
                    "eval_key": key},
                   {"faces": 3, "mAP": 0.5, "mAP_s": 0.1, "mAP_m": 0.6, "mAP_l": 0.8,
                    "eval_key": key})
    return dataset
