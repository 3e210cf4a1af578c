"""Small pieces every ldfa operator shares: delegation choice, progress, the SDK-style call."""

from __future__ import annotations

import fiftyone.operators as foo

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


def call_operator(operator: foo.Operator, sample_collection, params: dict, delegate: bool):
    """Run ``operator`` on ``sample_collection`` from Python, the way @voxel51/io's operators do."""
    ctx = {"view": sample_collection.view()}
    params = {**params, "view_target": "CURRENT_VIEW", "delegate": delegate}
    return foo.execute_operator(operator.uri, ctx, params=params)
