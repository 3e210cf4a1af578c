"""Whether an anonymized image still matches the faces it was made from.

An output is trusted only while the faces it replaced are the faces the dataset holds now:
a re-detection, a box edited in the App or by a script, or a face added in review makes it
stale, and a stale output is a leak (the new face is in the clear there). Each written image
records the digest of its faces (ids, boxes and attempts: what decides its pixels) beside its
path; ``stale_samples`` compares that with the faces now. The anonymization redoes stale images,
the metrics and the audit count them, and the export refuses them. Free of FiftyOne at import
time: the anonymization core digests faces on any engine's workers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from ldfa.plugin.schema import ANONYMIZE, face_fact, faces_digest_field, run_key

Face = tuple[str, tuple[float, ...], int]  # label id, relative [x, y, w, h] box, attempt


def current_faces(detections, attempts, plates=None, plate_attempts=None) -> list[Face] | None:
    """The faces of one sample as (id, box, attempt): ``detections`` (an ``fo.Detections`` or
    None when detection never ran; for a video, the list of its frames' ones) with their
    recorded ``attempts`` (None for none yet); then, when the run replaces licence plates too,
    the ``plates`` with theirs, frame by frame in a video (the order the anonymization reads)."""
    if isinstance(detections, list):  # a video's frames: every frame must have been detected
        if not detections or any(d is None for d in detections):
            return None
        frames = zip(detections, attempts or [None] * len(detections), plates or [None] * len(detections),
                     plate_attempts or [None] * len(detections))
        return [face for frame, tries, frame_plates, plate_tries in frames
                for face in current_faces(frame, tries, frame_plates, plate_tries)]
    if detections is None:
        return None
    faces = detections.detections
    found = [(d.id, tuple(d.bounding_box), a or 0) for d, a in zip(faces, attempts or [None] * len(faces))]
    return found + (current_faces(plates, plate_attempts) or [] if plates is not None else [])


def faces_path(collection, faces_field: str) -> str:
    """Where a collection's faces are: ``frames.<faces_field>`` in a video collection."""
    return f"frames.{faces_field}" if collection.media_type == "video" else faces_field


def box_key(box) -> str:
    """A face box as text, to 6 decimals: what "the same box" means to digests and face seeds."""
    return ",".join(f"{float(v):.6f}" for v in box)


def faces_digest(faces: Iterable[Face] | None) -> str | None:
    """A short hash of the faces an image is made from; None when detection never ran."""
    if faces is None:
        return None
    rows = [[face_id, box_key(box), int(attempt)] for face_id, box, attempt in faces]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()[:16]


def attempts_path(faces_field: str, field: str) -> str:
    """The path of every face's ``attempt`` fact, for reading a sample's faces in one call."""
    return f"{faces_field}.detections.{face_fact(field, 'attempt')}"


def stale_samples(collection, field: str, faces_field: str | None = None) -> list[str]:
    """Ids of the samples whose image in ``field`` was made from other faces (or licence
    plates, when the run replaces them) than they have now (an output written before digests
    were recorded counts as stale: it cannot be vouched for)."""
    from ldfa.plugin.runs import run_config  # FiftyOne: not for the core, which only digests

    if not collection.has_field(field):
        return []
    run = run_config(collection, run_key(ANONYMIZE, field)) or {}
    faces_field = faces_field or run.get("faces_field")
    path = faces_path(collection, faces_field) if faces_field else None
    if not path or not collection.has_field(path):
        return []
    plates = faces_path(collection, run["plates_field"]) if run.get("plates_field") else None
    written = collection.exists(field)
    paths = [attempts_path(path, field), faces_digest_field(field)]
    if plates:
        paths += [plates, attempts_path(plates, field)]
    ids, faces = written.values(["id", path])
    attempts, recorded, *more = (written.values(p) if collection.has_field(p) else [None] * len(ids)
                                 for p in paths)
    regions = zip(faces, attempts, *(more or [[None] * len(ids)] * 2))
    return [i for i, (f, a, p, pa), d in zip(ids, regions, recorded)
            if d is None or d != faces_digest(current_faces(f, a, p, pa))]
