"""Small pieces every ldfa operator shares: delegation choice, progress, the engine, the
SDK-style call."""

from __future__ import annotations

import os

import fiftyone as fo
import fiftyone.operators as foo

from ldfa.plugin.engines.config import RAY_ADDRESS_ENV, EngineConfig

PLUGIN = "@ldfa/anonymization"

# Views larger than this run delegated unless the caller says otherwise.
DELEGATE_ABOVE_SAMPLES = 25


def heavy_config(name: str, label: str, description: str, **options) -> foo.OperatorConfig:
    """Config of a long-running operator: delegated by default, immediate allowed."""
    return foo.OperatorConfig(name=name, label=label, description=description, dynamic=True,
                              allow_immediate_execution=True, allow_delegated_execution=True,
                              default_choice_to_delegated=True, **options)


def resolve_delegation(ctx) -> bool:
    """An explicit ``delegate`` param wins; otherwise delegate large target views."""
    delegate = ctx.params.get("delegate")
    if delegate is not None:
        return bool(delegate)
    return len(ctx.target_view()) > DELEGATE_ABOVE_SAMPLES


def progress_reporter(ctx):
    """An engine ``progress`` callable that reports into the App (shown for delegated runs)."""

    def report(fraction: float, label: str) -> None:
        ctx.set_progress(progress=fraction, label=label)

    return report


def engine_of(ctx) -> EngineConfig:
    """Ray when a Ray address is configured, else this process: the plugin setting
    ``ray_address`` (the dataset's App config, then FiftyOne's ``app_config.json``), else
    ``$LDFA_RAY_ADDRESS``. A delegated operation then fans its images out over the cluster."""
    settings = {**(fo.app_config.plugins.get(PLUGIN) or {}),
                **((ctx.dataset.app_config.plugins or {}).get(PLUGIN) or {})}
    address = settings.get("ray_address") or os.environ.get(RAY_ADDRESS_ENV)
    return EngineConfig("ray", address) if address else EngineConfig()


def call_operator(operator: foo.Operator, sample_collection, params: dict, delegate: bool):
    """Run ``operator`` on ``sample_collection`` from Python, the way @voxel51/io's operators do."""
    ctx = {"view": sample_collection.view()}
    params = {**params, "view_target": "CURRENT_VIEW", "delegate": delegate}
    return foo.execute_operator(operator.uri, ctx, params=params)
