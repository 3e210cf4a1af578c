"""Every name ldfa writes into a FiftyOne dataset, in one place.

A dataset holds *versions* of each image: the original (``ORIGINAL``, its media in
``filepath``) and one anonymized version per string field of new paths (``anon_<method>`` by
default). Every name derived from a version (per-face facts, distances, predictions, eval keys,
run keys, saved views) is made here from the version's name, so a name is spelled once and the
App, the CLI and the engine can never disagree about it. Run records hold what each run chose
(its faces field, embedders, prediction field); readers take those from the records.
"""

from __future__ import annotations

import re

FACES = "faces"  # the default Detections field of the faces (``frames.faces`` in a video)
FACE_LABEL = "face"
# Licence plates: a second kind of region, found, tracked and replaced whole like faces, in a
# Detections field of their own (``frames.plates`` in a video), labelled with Cityscapes' name
PLATES = "plates"
PLATE_LABEL = "license plate"
ANNOTATION_SOURCE = "annotation"  # the ``source`` of a region the dataset's own labels gave
# Labels that name a licence plate in labelled datasets (COCO categories, Cityscapes' own)
PLATE_NAMES = ("plate", "license plate", "licence plate", "license_plate", "number plate")
TRACK_SOURCE = "track"  # the ``source`` of a face box the tracker filled in (a gap, or padding)
# the ``source`` of a weak detection (no pass kept it) kept because it continues a face's track
CANDIDATE_SOURCE = "candidate"
# frame sequences (image samples): the sequence's name and each image's frame number in it
SEQUENCE, SEQUENCE_FRAME = "sequence", "sequence_frame"
VIDEOS_SUFFIX = "-videos"  # a folder's videos go into the companion dataset ``<name>-videos``
ORIGINAL = "original"  # the untouched version, wherever versions are named
ORIGINAL_MEDIA = "filepath"  # ... and where its images are

# run kinds: one FiftyOne run per kind and field (see ``run_key``)
DETECT, ANONYMIZE, IDENTITY, RESIDUAL, DETECTION_EVAL, ATTRIBUTES, TEMPORAL, PLATE_EVAL = (
    "detect", "anonymize", "identity", "residual", "detection", "attributes", "temporal", "plates")
FACE_FACTS = ("seed", "method", "skipped", "attempt")  # on each face, per anonymized version
# a face's review verdict (a label tag): the identity guard and the App's review set them
APPROVED, NEEDS_REVIEW = "approved", "needs_review"
REVIEW_TAGS = (APPROVED, NEEDS_REVIEW)
# saved views: faces scoring under the detection's confidence or without a score (lowest first),
# and the samples whose anonymization failed
UNCERTAIN_FACES_VIEW, FAILED_VIEW = "ldfa-uncertain-faces", "ldfa-failed"
# "small" means one thing, the detector's: a face under ``min_face_px``. Other sizes are named by
# their size: this view, COCO's area ranges (AP under 32² px), the by-size buckets ("<16" px).
FACES_UNDER_PX = 32  # the saved view of faces whose shorter side is under this many pixels


def faces_under_view(px: int = FACES_UNDER_PX) -> str:
    """The saved view of the faces whose shorter side is under ``px`` pixels."""
    return f"ldfa-faces-under-{px}px"


def run_key(kind: str, field: str) -> str:
    """FiftyOne run keys must be identifiers: ``ldfa_<kind>_<field>``."""
    return re.sub(r"\W", "_", f"ldfa_{kind}_{field}")


def media_field(version: str) -> str:
    """The field holding a version's image paths."""
    return ORIGINAL_MEDIA if version == ORIGINAL else version


def anonymized_field(method: str) -> str:
    """The default field of a method's anonymized paths."""
    return f"anon_{method}"


def face_fact(field: str, name: str) -> str:
    """A per-face fact of an anonymized version (``FACE_FACTS``), e.g. ``anon_ldfa_seed``."""
    return f"{field}_{name}"


def faces_digest_field(field: str) -> str:
    """The sample field holding the digest of the faces ``field``'s image was made from."""
    return f"{field}_faces_digest"


def error_field(field: str) -> str:
    """The sample field holding why writing ``field`` failed for that sample."""
    return f"{field}_error"


def failed_tag(field: str) -> str:
    """The sample tag of samples whose ``field`` failed."""
    return f"{field}_failed"


def identity_distance(version: str, embedder: str) -> str:
    """A face's identity distance to its original in ``version`` (on the face detection)."""
    return f"{version}_{embedder}_dist"


def identity_reason(version: str, embedder: str) -> str:
    """Why a face has no identity distance in ``version``."""
    return f"{version}_{embedder}_reason"


def same_person(version: str) -> str:
    """A face's privacy verdict in ``version`` (on the face detection): True when any embedder
    that can judge it still calls it the same person as its original, False when one judges
    it and none does, None when none can (``ldfa.plugin.metrics.verdict``)."""
    return f"{version}_same_person"


def threshold_ratio(version: str) -> str:
    """A face's closest identity distance in ``version`` in units of that embedder's
    same-person threshold (below 1: still recognisable); sorts faces riskiest first."""
    return f"{version}_threshold_ratio"


# A face's place in the review queue of a version (``face_status``): at risk (some identity model
# says same person, or none can judge it and much of its original pixels remain: residual at or
# above ``ldfa.plugin.metrics.verdict.RESIDUAL_AT_RISK``), not measurable (none can judge it and
# little remains), replaced (judged, and no model says same person)
AT_RISK, NOT_MEASURABLE, REPLACED = "at_risk", "not_measurable", "replaced"
FACE_STATUSES = (AT_RISK, NOT_MEASURABLE, REPLACED)
STATUS_WORDS = {AT_RISK: "at risk", NOT_MEASURABLE: "not measurable", REPLACED: "replaced"}


def face_status(version: str) -> str:
    """A face's review status in ``version`` (on the face detection): one of ``FACE_STATUSES``."""
    return f"{version}_status"


# A plate's measurements in a version (``ldfa.plugin.metrics.plates``), on the plate detection:
# the share of its box's pixels changed, the text OCR reads there, how many characters of the
# original's text that recovers; the original's own text is ``PLATE_TEXT``.
PLATE_FACTS = ("cover", "ocr_text", "recovered")
PLATE_TEXT = "ocr_text"


def plate_fact(version: str, name: str) -> str:
    """One of ``PLATE_FACTS`` of a plate in ``version``, e.g. ``anon_solid_plate_cover``."""
    return f"{version}_plate_{name}"


def residual(version: str) -> str:
    """A face's residual similarity in ``version`` (on the face detection)."""
    return f"{version}_residual"


def residual_reason(version: str) -> str:
    """Why a face has no residual similarity in ``version``."""
    return f"{residual(version)}_reason"


# A face's attribute differences to its original (``ldfa.plugin.metrics.attributes``): signed
# yaw/pitch/roll (degrees), mean absolute pose difference, eye and mouth openness, landmark NME.
ATTRIBUTE_DIFFS = ("yaw_diff", "pitch_diff", "roll_diff", "pose_diff_deg", "eye_diff", "mouth_diff",
                   "landmark_nme")


def attribute_diff(version: str, name: str) -> str:
    """One of ``ATTRIBUTE_DIFFS`` of a face in ``version`` (on the face detection)."""
    return f"{version}_{name}"


def attribute_reason(version: str) -> str:
    """Why a face has no attribute differences in ``version``."""
    return f"{version}_attributes_reason"


def leaks_field(version: str) -> str:
    """A video's face frames left in the clear in ``version`` (an image sequence: the image's
    faces); must be 0 (``ldfa.plugin.metrics.temporal``)."""
    return f"{version}_leaks"


def flicker_field(version: str) -> str:
    """A clip's mean change between consecutive frames inside its face boxes, in ``version``."""
    return f"{version}_flicker"


def temporal_error_field(version: str) -> str:
    """Why a clip of ``version`` was not measured over time, or not whole."""
    return f"{version}_temporal_error"


def predictions(version: str) -> str:
    """The default field of a face detector's boxes on ``version``'s images."""
    return f"{version}_det"


def detection_reason(version: str) -> str:
    """Why a ground-truth face is left out of ``version``'s detection evaluation."""
    return f"{version}_detection_reason"


def eval_key(pred_field: str) -> str:
    """FiftyOne's evaluation key of ``pred_field`` (per-face ``tp``/``fp``/``fn``)."""
    return f"eval_{pred_field}"


def riskiest_view(version: str) -> str:
    """The saved view of ``version``'s faces some model still calls the same person, riskiest first."""
    return f"ldfa-riskiest-{version}"


def lost_view(version: str) -> str:
    """The saved view of the original faces the detector misses on ``version``'s images."""
    return f"ldfa-lost-{version}"


def leaks_view(version: str) -> str:
    """The saved view of the videos (or sequence frames) where ``version`` left a face in the clear."""
    return f"ldfa-leaks-{version}"


def queue_view(version: str, status: str) -> str:
    """The saved view of ``version``'s faces with ``status`` (e.g. ``ldfa-at-risk-anon_gauss``)."""
    return f"ldfa-{status.replace('_', '-')}-{version}"


def plates_queue_view(version: str, status: str) -> str:
    """The saved view of ``version``'s licence plates with ``status`` (``ldfa-plates-at-risk-anon_solid``)."""
    return f"ldfa-plates-{status.replace('_', '-')}-{version}"
