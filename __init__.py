"""ldfa: face anonymization with latent diffusion for FiftyOne datasets.

This file is both the package root (``import ldfa``) and the FiftyOne plugin entry point. FiftyOne
imports it under a module name of its own, so it stays tiny: the SDK names below load lazily and
``register`` imports the operators as ``ldfa.operators``.
"""

__version__ = "0.1.0"

# SDK name -> module that defines it; loaded on first use so that
# ``import ldfa`` (and the CLI's --help) does not pay for importing FiftyOne and torch.
_SDK = {
    "detect_faces": "ldfa.plugin.detection.detect",
    "detect_plates": "ldfa.plugin.detection.plates",
    "detect_image": "ldfa.plugin.detection.core",
    "anonymize_image": "ldfa.plugin.pixels",
    "anonymize_faces": "ldfa.plugin.guard.step",
    "reanonymize_faces": "ldfa.plugin.anonymization.redo",
    "LdfaError": "ldfa.plugin.errors",
    "compute_identity_distance": "ldfa.plugin.metrics.identity",
    "compute_residual_similarity": "ldfa.plugin.metrics.residual",
    "compute_attribute_differences": "ldfa.plugin.metrics.attributes",
    "measure_plates": "ldfa.plugin.metrics.plates",
    "evaluate_face_detection": "ldfa.plugin.metrics.evaluation",
    "comparison_table": "ldfa.plugin.metrics.report",
    "write_report": "ldfa.plugin.metrics.report",
    "guard_identity": "ldfa.plugin.guard.identity",
    "load_embedder": "ldfa.plugin.models.embedders",
    "import_cityscapes": "ldfa.converters.cityscapes",
    "import_coco": "ldfa.converters.coco",
    "export_anonymized": "ldfa.converters.export",
    "verify_export": "ldfa.converters.verify",
    "anonymize_dataset": "ldfa.plugin.pipeline",
    "build_audit_dataset": "ldfa.plugin.audit.dataset",
    "save_audit_views": "ldfa.plugin.audit.views",
    "plates_with_status": "ldfa.plugin.audit.views",
    "plate_counts": "ldfa.plugin.audit.views",
    "open_audit": "ldfa.plugin.audit.dataset",
    "launch_audit": "ldfa.operators.launch",
}


def __getattr__(name):
    if name in _SDK:
        import importlib

        return getattr(importlib.import_module(_SDK[name]), name)
    raise AttributeError(f"module 'ldfa' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SDK])


def register(p):
    from ldfa.operators import register as register_operators

    register_operators(p)
