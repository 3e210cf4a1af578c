"""FiftyOne operators and panels of @ldfa/anonymization; registered by the plugin's ``register``."""

from ldfa.operators.anonymize import AnonymizeFaces
from ldfa.operators.detect import DetectFaces
from ldfa.operators.metrics import ComputeIdentityDistance, EvaluateFaceDetection, GuardIdentity

OPERATORS = [DetectFaces, AnonymizeFaces, ComputeIdentityDistance, EvaluateFaceDetection,
             GuardIdentity]


def register(p):
    for operator in OPERATORS:
        p.register(operator)
