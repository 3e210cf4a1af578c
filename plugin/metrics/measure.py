"""Identity distance, residual similarity, attribute differences and detection utility of one
version in one pass over its pairs: each original and each anonymized image decoded once for all
four, on either engine (``judging.py``). ``ldfa evaluate`` and the comparison report measure
through it; each metric's own function (``compute_identity_distance`` ...) is the same pass with
one metric.
"""

from __future__ import annotations

from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.metrics.attributes import AttributesMetric
from ldfa.plugin.metrics.evaluation import DetectionMetric
from ldfa.plugin.metrics.identity import IdentityMetric
from ldfa.plugin.metrics.identity_core import IdentityConfig
from ldfa.plugin.metrics.judging import judge_pairs
from ldfa.plugin.metrics.residual import ResidualMetric
from ldfa.plugin.models.detector.config import DEFAULT_BACKEND
from ldfa.plugin.models.embedders import DEFAULT_EMBEDDERS
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import compared_faces_field
from ldfa.plugin.schema import ATTRIBUTES, DETECTION_EVAL, IDENTITY, RESIDUAL

MEASURES = (IDENTITY, RESIDUAL, ATTRIBUTES, DETECTION_EVAL)


def measure_version(collection, field: str, measures=MEASURES, faces_field: str | None = None,
                    gt_field: str | None = None, detector: str = DEFAULT_BACKEND,
                    embedders: tuple[str, ...] | list[str] = DEFAULT_EMBEDDERS, facenet_weights: str = "auto",
                    progress: ProgressArg = True, engine: str | dict | EngineConfig = "local") -> dict:
    """Run ``measures`` (any of ``identity``, ``residual``, ``attributes``, ``detection``) on version
    ``field`` in one pass, each stored and recorded as its own function does.

    Args:
        collection: dataset or view with ``faces_field`` and ``field``
        field: an anonymized path field, or ``"original"`` for the reference row
        faces_field: the faces compared (default: the ones the anonymization of ``field`` used)
        gt_field: the detection's ground truth (default: those faces)
        detector: the detector run on the version's images
        embedders, facenet_weights: the identity models (``compute_identity_distance``'s)
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        engine: ``local``, ``ray``, or an :class:`EngineConfig` (or a dict of its fields)
    Returns: each measure's run statistics by its name
    """
    unknown = sorted(set(measures) - set(MEASURES))
    if unknown:
        raise ConfigError(f"unknown measure(s) {', '.join(unknown)}: choose from {', '.join(MEASURES)}")
    faces_field = compared_faces_field(collection, field, faces_field)
    engine = EngineConfig.of(engine)
    build = {IDENTITY: lambda: IdentityMetric(collection, field, IdentityConfig(
                 tuple(embedders), facenet_weights=facenet_weights, faces_field=faces_field), engine),
             RESIDUAL: lambda: ResidualMetric(collection, field, faces_field),
             ATTRIBUTES: lambda: AttributesMetric(collection, field, faces_field),
             DETECTION_EVAL: lambda: DetectionMetric(collection, field, gt_field or faces_field,
                                                     detector=detector)}
    metrics = [build[name]() for name in MEASURES if name in measures]
    if metrics:
        judge_pairs(collection, field, faces_field, metrics, engine, progress,
                    f"Measuring {field} ({', '.join(m.name for m in metrics)})")
    return {m.name: m.finish() for m in metrics}
