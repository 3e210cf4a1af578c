"""Run configs and FiftyOne run records shared by every ldfa run (detection, anonymization, metrics).

A run's config is one serialisable dict: its digest names outputs and decides whether a rerun
may resume. The record lives in FiftyOne's run API, so ``dataset.list_runs()`` and
``dataset.get_run_info(key)`` show what produced each field, with the versions involved. What a
run chose is read back from here (``anonymized_fields``, ``faces_field_of``), never guessed.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import fiftyone as fo

from ldfa.plugin.errors import ConfigError, still_images_only
from ldfa.plugin.schema import ANONYMIZE, FACES, media_field, run_key


def versions(*dists: str) -> dict[str, str]:
    """Installed versions of ldfa and the given distributions, recorded with every run."""
    found = {}
    for name in ("ldfa", "fiftyone", *dists):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def record_run(
    collection: fo.core.collections.SampleCollection,
    key: str,
    config: dict[str, Any],
    results: dict[str, Any] | None = None,
) -> None:
    """Register (or replace) the run ``key`` with its full config and, optionally, results."""
    run_config = collection.init_run(**config)
    collection.register_run(key, run_config, overwrite=True, cleanup=False)
    if results is not None:
        record_results(collection, key, results)


def record_results(collection: fo.core.collections.SampleCollection, key: str,
                   results: dict[str, Any]) -> None:
    """Save (or replace) the results of the registered run ``key``."""
    collection.save_run_results(key, collection.init_run_results(key, **results))


def run_config(collection: fo.core.collections.SampleCollection, key: str) -> dict | None:
    """The config dict recorded under ``key`` on the collection's dataset, or None."""
    dataset = collection._dataset
    if not dataset.has_run(key):
        return None
    return dataset.get_run_info(key).config.serialize()


def run_results(collection: fo.core.collections.SampleCollection, key: str) -> dict | None:
    """The results dict recorded under ``key`` on the collection's dataset, or None."""
    dataset = collection._dataset
    if not dataset.has_run(key):
        return None
    results = dataset.load_run_results(key, cache=False)
    return None if results is None else results.serialize()


def faces_field_of(collection, field: str | None = None) -> str:
    """The faces field the anonymization run of version ``field`` used (without ``field``: the
    first anonymization run's); ``faces`` when none ran."""
    for version in [field] if field else anonymized_fields(collection):
        faces = (run_config(collection, run_key(ANONYMIZE, version)) or {}).get("faces_field")
        if faces:
            return faces
    return FACES


def compared_faces_field(collection, field: str, faces_field: str | None = None) -> str:
    """The faces field a metric of version ``field`` reads (given, else ``faces_field_of``),
    once both it and the version are checked to be fields of ``collection`` (of still images)."""
    still_images_only(collection, f"measuring '{field}' face by face")
    faces_field = faces_field or faces_field_of(collection, field)
    if not collection.has_field(faces_field) or not collection.has_field(media_field(field)):
        raise ConfigError(f"'{faces_field}' and '{field}' must both be fields of the collection")
    return faces_field


def anonymized_fields(collection) -> dict[str, str]:
    """The anonymized versions of the dataset and their methods, from its anonymization runs."""
    found = {}
    prefix = run_key(ANONYMIZE, "")
    for key in collection._dataset.list_runs():
        if key.startswith(prefix):
            config = run_config(collection, key)
            if config and config.get("field"):
                found[config["field"]] = config.get("method", "?")
    return dict(sorted(found.items()))


def declare_fields(dataset: fo.Dataset, wanted: dict[str, type]) -> None:
    """Declare a run's fields (path -> FiftyOne field type) before writing them: the App can
    filter by them, and a first None value is accepted."""
    for path, kind in wanted.items():
        if dataset.has_field(path):
            continue
        if path.startswith("frames."):  # a video's frame-level field
            dataset.add_frame_field(path.removeprefix("frames."), kind)
        else:
            dataset.add_sample_field(path, kind)
