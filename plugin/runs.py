"""Run configs and FiftyOne run records shared by every ldfa run (detection, anonymization, metrics).

A run's config is one serialisable dict: its digest names outputs and decides whether a rerun
may resume. The record lives in FiftyOne's run API, so ``dataset.list_runs()`` and
``dataset.get_run_info(key)`` show what produced each field, with the versions involved.
"""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any

import fiftyone as fo


def run_key(kind: str, field: str) -> str:
    """FiftyOne run keys must be identifiers: ``ldfa_<kind>_<field>``."""
    return re.sub(r"\W", "_", f"ldfa_{kind}_{field}")


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
