"""FiftyOne operators and panels of @ldfa/anonymization; registered by the plugin's ``register``."""

from ldfa.operators.anonymize import AnonymizeFaces
from ldfa.operators.audit import OpenAudit, ReanonymizeSelected, TagFaces
from ldfa.operators.detect import DetectFaces
from ldfa.operators.io import ExportAnonymizedDataset, ImportDataset
from ldfa.operators.metrics import ComputeIdentityDistance, EvaluateFaceDetection, GuardIdentity, MeasurePlates
from ldfa.operators.panel import AnonymizationAudit
from ldfa.operators.side_by_side import SideBySide

OPERATORS = [DetectFaces, AnonymizeFaces, ComputeIdentityDistance, EvaluateFaceDetection,
             GuardIdentity, MeasurePlates, ImportDataset, ExportAnonymizedDataset,
             OpenAudit, TagFaces, ReanonymizeSelected, AnonymizationAudit, SideBySide]


def register(p):
    for operator in OPERATORS:
        p.register(operator)
