"""Whether anonymized licence plates still give their text away: cover, OCR leaks, recall.

Per plate (of the plates field, and of a labelled field when given), original against version:

- **cover**: the share of the plate box's pixels (``face_region``, not grown) replaced: a pixel
  is changed when any channel differs by more than ``CHANGE_TOLERANCE``, and replaced when
  changed or enclosed by changed pixels (a black fill leaves a plate's black characters black,
  a blur its flat background, yet nothing of them is left to read). Measured on the 115 plates
  of ``../shared/data/plates``, each written back as ldfa writes JPEGs (quality 95, no chroma
  subsampling): untouched, 0.0 % on average (2.1 % at most); filled black, 100 % (97.5 % at
  least); filled with the plate's mean colour 99.4 %, 114 plates of 115 covered whole; blurred
  (``gauss``'s defaults) 98.3 %, 109 covered whole; half filled 49.8 %. With a tolerance of 12
  the mean fill covers 113 whole, the blur 106. Outputs written at a lower JPEG quality change
  untouched pixels too (quality 75 with 4:2:0 chroma: a third of a plate's pixels by more than
  8): there the OCR, not the cover, tells an untouched plate.
- **text**: OCR (``ldfa.plugin.models.ocr``) on the original crop (``PLATE_TEXT``) and on the
  version's (``plate_fact(field, "ocr_text")``).
- **recovered**: the longest run of characters the two texts share (longest common
  *substring*, with O/0 and I/1 taken as one: plates draw them alike and OCR swaps them).
  Why a run and not a subsequence: a painted plate of random characters must not count as a
  leak by chance. Against a different real plate of the same set a subsequence of 3 or more
  matches 32 % of the time (plates of one region share their letters), a run of 3 3.6 %, and
  against uniformly random characters 1.6 % and 0.05 %; a real leak reads as a run.
- **status** (``face_status(field)``): at risk when cover is under ``COVER_WHOLE`` (part of
  the plate is untouched) or OCR recovers ``LEAK_CHARS`` characters of an original text of at
  least ``MIN_TEXT`` (three in a row: the shortest run that chance rarely gives, see above,
  and most of a short plate); not
  measurable when the original's text is not readable (fewer than ``MIN_TEXT`` characters, or
  no OCR here) or the version cannot be compared; replaced otherwise.

With a labelled field: the plates field's recall at IoU 0.5, overall and by plate width, and
"covered whole", the share of labelled plates with cover at least ``COVER_WHOLE``. The core
(``PlateJudge``) reads no database and loads no FiftyOne (the unit tests run it as is); FiftyOne
is imported by the driver functions only. Still images only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np
from scipy.ndimage import binary_fill_holes

from ldfa.plugin.errors import ImageError
from ldfa.plugin.geometry.boxes import iou
from ldfa.plugin.geometry.masks import face_region
from ldfa.plugin.metrics.pair_core import FaceRef, PairTask, PairWorker
from ldfa.plugin.metrics.pairs import Pair
from ldfa.plugin.models.ocr import ocr_available, read_text
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.schema import (
    AT_RISK,
    NOT_MEASURABLE,
    PLATE_EVAL,
    PLATE_NAMES,
    PLATE_TEXT,
    PLATES,
    REPLACED,
    face_status,
    plate_fact,
    run_key,
)

CHANGE_TOLERANCE = 8  # a channel differing by more than this (of 255) is a changed pixel
COVER_WHOLE = 0.9  # a plate with this share of its pixels changed is covered whole
MIN_TEXT = 4  # an original text shorter than this is no reading to compare with
LEAK_CHARS = 3  # characters in a row recovered that make a leak
MATCH_IOU = 0.5
WRITE_EVERY = 256  # samples whose plates are written back at once (a write per field and figure)
WIDTHS = ("<64", "64-128", "128-256", ">=256")  # plate width buckets, pixels
_FOLD = str.maketrans("OI", "01")


def width_bucket(width_px: float) -> str:
    """The width bucket of a plate ``width_px`` pixels wide."""
    return WIDTHS[int(np.searchsorted([64, 128, 256], width_px, side="right"))]


def replaced_pixels(original: np.ndarray, anonymized: np.ndarray) -> np.ndarray:
    """Which pixels of two same-size RGB images the second replaced: those where a channel
    differs by more than ``CHANGE_TOLERANCE``, and those they enclose."""
    diff = np.abs(original.astype(np.int16) - anonymized.astype(np.int16)).max(axis=2)
    return binary_fill_holes(diff > CHANGE_TOLERANCE)


def cover(replaced: np.ndarray, region: tuple[int, int, int, int]) -> float:
    """The share of the pixel ``region`` (x1, y1, x2, y2, end-exclusive) that is ``replaced``
    (an empty region: 0.0, nothing of it measured as replaced)."""
    x1, y1, x2, y2 = region
    inside = replaced[y1:y2, x1:x2]
    return float(inside.mean()) if inside.size else 0.0


def recovered(original: str, anonymized: str) -> int:
    """Characters of the ``original`` text recovered in the ``anonymized`` one: their longest
    common run, O/0 and I/1 alike (both normalized: A-Z, 0-9)."""
    a, b = original.translate(_FOLD), anonymized.translate(_FOLD)
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size


def plate_status(cover_share: float | None, text: str | None, found: int | None) -> str:
    """A plate's review status from its cover, its original's text (None: no OCR) and the
    characters of it recovered (see the module's docstring)."""
    if cover_share is None:
        return NOT_MEASURABLE
    readable = text is not None and len(text) >= MIN_TEXT
    if cover_share < COVER_WHOLE or (readable and (found or 0) >= LEAK_CHARS):
        return AT_RISK
    return REPLACED if readable else NOT_MEASURABLE


@dataclass(frozen=True)
class PlateRecord:
    """One plate measured: its relative [x, y, w, h] box, its width in pixels (None: the
    original is unreadable), cover, texts, recovered, status."""

    plate_id: str
    bounding_box: tuple[float, float, float, float]
    width_px: float | None
    cover: float | None
    text: str | None  # the original's OCR text; None: no OCR
    text_after: str | None
    recovered: int | None
    status: str


@dataclass(frozen=True)
class PlateJudge:
    """Each plate of a pair measured (models load once per process). ``ocr``: read the texts."""

    ocr: bool = True

    def __call__(self, task: PairTask, pair: Pair) -> list[PlateRecord]:
        if not task.faces:
            return []
        try:
            original, anon, _ = pair.compared()
        except ImageError:
            return [PlateRecord(p.id, p.bounding_box, None, None, None, None, None, NOT_MEASURABLE)
                    for p in task.faces]
        replaced = None if anon is None else replaced_pixels(original, anon)
        return [self.measure(p, original, anon, replaced) for p in task.faces]

    def measure(self, plate: FaceRef, original: np.ndarray, anon: np.ndarray | None,
                replaced: np.ndarray | None) -> PlateRecord:
        """One plate's record; ``anon`` None: the version cannot be compared."""
        height, width = original.shape[:2]
        region = x1, y1, x2, y2 = face_region(width, height, plate.bounding_box)
        known = (plate.id, plate.bounding_box, plate.bounding_box[2] * width)
        text = read_text(original[y1:y2, x1:x2]) if self.ocr else None
        if anon is None:
            return PlateRecord(*known, None, text, None, None, NOT_MEASURABLE)
        share = cover(replaced, region)
        text_after = read_text(anon[y1:y2, x1:x2]) if self.ocr else None
        found = recovered(text, text_after) if self.ocr else None
        return PlateRecord(*known, share, text, text_after, found, plate_status(share, text, found))


def match_recall(truth: list, found: list) -> np.ndarray:
    """Which of the ``truth`` boxes (relative [x, y, w, h]: IoU is the same in pixels) a
    ``found`` box matches at IoU >= ``MATCH_IOU``, each found box matching one at most
    (greedily, best overlap first)."""
    hit = np.zeros(len(truth), dtype=bool)
    if not len(truth) or not len(found):
        return hit
    overlaps = iou(*(np.array([[x, y, x + w, y + h] for x, y, w, h in boxes]) for boxes in (truth, found)))
    used = np.zeros(len(found), dtype=bool)
    for t, f in zip(*np.unravel_index(np.argsort(-overlaps, axis=None), overlaps.shape)):
        if overlaps[t, f] < MATCH_IOU:
            break
        if not hit[t] and not used[f]:
            hit[t], used[f] = True, True
    return hit


def ocr_figures(records: Iterable[PlateRecord]) -> dict:
    """Plates, how many have a readable original text, leaks (readable and recovered) and the
    characters recovered in them; statuses counted."""
    records = list(records)
    readable = [r for r in records if r.text is not None and len(r.text) >= MIN_TEXT]
    leaks = [r for r in readable if (r.recovered or 0) >= LEAK_CHARS]
    return {"plates": len(records), "readable_before": len(readable), "leaks": len(leaks),
            "characters_recovered": sum(r.recovered for r in leaks),
            "statuses": {s: sum(r.status == s for r in records) for s in (AT_RISK, NOT_MEASURABLE, REPLACED)}}


class PlateSummary(dict):
    """The run's figures (a plain dict, as recorded) that prints as one paragraph for the CLI."""

    def __str__(self) -> str:
        main = self.get("labelled") or self["detected"]
        lines = []
        if "labelled" in self:
            lab, n = self["labelled"], self["labelled"]["plates"]
            lines.append(f"plates: {n} labelled, recall {_rate(lab['recall'])} ({lab['matched']}/{n}) at IoU "
                         f"{MATCH_IOU}; covered whole {_rate(lab['covered_whole'])} ({lab['covered']}/{n})")
            lines.append("  recall by width: " + ", ".join(
                f"{b} px {_rate(s['recall'])} ({s['matched']}/{s['plates']})"
                for b, s in lab["by_width"].items() if s["plates"]))
        lines.append(f"plates in '{self['plates_field']}': {self['detected']['plates']}, "
                     + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in self["detected"]["statuses"].items()))
        if self["ocr"]:
            lines.append(f"OCR: {main['readable_before']} readable before, {main['leaks']} leaks after "
                         f"({main['characters_recovered']} characters recovered)")
        else:
            lines.append(f"{self['ocr_unavailable']}: text leaks not measured")
        return "\n".join(lines)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def labelled_figures(records: list[PlateRecord], hits: list[bool]) -> dict:
    """Recall, cover and OCR figures of the labelled plates, overall and by width (a plate of
    an unreadable original is in no width bucket)."""
    def recall(picked: list[int]) -> dict:
        matched = int(sum(hits[i] for i in picked))
        return {"plates": len(picked), "matched": matched, "recall": matched / len(picked) if picked else None}

    covered = sum(r.cover is not None and r.cover >= COVER_WHOLE for r in records)
    by_width = {b: [i for i, r in enumerate(records) if r.width_px is not None and width_bucket(r.width_px) == b]
                for b in WIDTHS}
    return {**ocr_figures(records), **recall(list(range(len(records)))), "covered": covered,
            "covered_whole": covered / len(records) if records else None,
            "by_width": {b: recall(picked) for b, picked in by_width.items()}}


def measure_plates(collection, field: str, plates_field: str = PLATES, gt_field: str | None = None,
                   progress: ProgressArg = True, engine="local") -> PlateSummary:
    """Measure every plate of version ``field`` against its original, write the figures on the
    plates (of ``plates_field`` and ``gt_field``), record the run ``run_key(PLATE_EVAL, field)``.

    Args:
        collection: dataset or view of still images with ``plates_field`` and ``field``
        field: an anonymized path field
        plates_field: the ``fo.Detections`` of the plates anonymization used
        gt_field: ``fo.Detections`` of labelled plates (its labels in ``schema.PLATE_NAMES``; others
            are left out): recall, and their cover and leaks
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable
        engine: ``local`` (this process), ``ray``, or an ``EngineConfig`` (or a dict of its fields)
    Returns: the run's figures (also its recorded results), printable as a summary
    """
    from ldfa.plugin.engines.config import EngineConfig
    from ldfa.plugin.engines.run import blocks, run_tasks
    from ldfa.plugin.errors import ConfigError
    from ldfa.plugin.runs import record_run, versions

    fields = [plates_field] + ([gt_field] if gt_field and gt_field != plates_field else [])
    if collection.media_type == "video":
        raise ConfigError(f"measuring plates reads still images, and '{collection.name}' holds videos: "
                          "import its frames as a frame sequence to measure them")
    missing = [f for f in [field, *fields] if not collection.has_field(f)]
    if missing:
        raise ConfigError(f"{', '.join(repr(f) for f in missing)} not in the collection: measure plates of an "
                          "anonymized field of a dataset with plates (detect them first)")
    ocr, why_not = ocr_available()
    _declare(collection, field, fields)
    owner: dict[str, str] = {}
    ids = collection.values("id")
    found: dict[str, list[PlateRecord]] = {}
    pending: dict[str, list[PlateRecord]] = {}
    with Progress(len(ids), f"Plates ({field})", progress) as bar:
        for results in run_tasks(blocks(ids, _tasks(collection, field, fields, owner)),
                                 PairWorker(((PLATE_EVAL, PlateJudge(ocr)),)), EngineConfig.of(engine), batch_size=8):
            pending.update((r.sample_id, r.records[PLATE_EVAL]) for r in results)
            if len(pending) >= WRITE_EVERY:
                found.update(_write(collection, field, fields, owner, pending))
                pending = {}
            bar.update(len(results))
    found.update(_write(collection, field, fields, owner, pending))
    summary = _summary(field, plates_field, gt_field, found, owner, ocr, why_not)
    record_run(collection, run_key(PLATE_EVAL, field),
               {"method": "ldfa.measure_plates", "field": field, "plates_field": plates_field, "gt_field": gt_field,
                "change_tolerance": CHANGE_TOLERANCE, "cover_whole": COVER_WHOLE, "min_text": MIN_TEXT,
                "leak_chars": LEAK_CHARS, "match_iou": MATCH_IOU, "ocr": "PP-OCRv6 rec small (rapidocr 3.10.0)"
                if ocr else why_not, "versions": versions("onnxruntime")},
               dict(summary))
    return summary


def _declare(collection, field: str, fields: list[str]) -> None:
    import fiftyone as fo

    from ldfa.plugin.runs import declare_fields

    kinds = {PLATE_TEXT: fo.StringField, plate_fact(field, "cover"): fo.FloatField,
             plate_fact(field, "ocr_text"): fo.StringField, plate_fact(field, "recovered"): fo.IntField,
             face_status(field): fo.StringField}
    declare_fields(collection._dataset,
                   {f"{f}.detections.{name}": kind for f in fields for name, kind in kinds.items()})


def _tasks(collection, field: str, fields: list[str], owner: dict[str, str]):
    """``read(ids of a block)``: the block's pair tasks, each with the plates of every field;
    ``owner`` learns which field each plate id belongs to."""
    def read(block_ids: list[str]) -> list[PairTask]:
        view = collection._dataset.select(block_ids, ordered=True)
        paths, anonymized, *labels = view.values(["filepath", field, *fields])
        tasks = []
        for i, (sample_id, path, version) in enumerate(zip(block_ids, paths, anonymized)):
            plates = []
            for name, per_sample in zip(fields, labels):
                for d in per_sample[i].detections if per_sample[i] else []:
                    if name != fields[0] and d.label not in PLATE_NAMES:
                        continue  # a labelled field's other objects (people, cars) are no plates
                    owner[d.id] = name
                    plates.append(FaceRef(d.id, tuple(d.bounding_box)))
            tasks.append(PairTask(sample_id, path, version, False, tuple(plates)))
        return tasks

    return read


def _write(collection, field: str, fields: list[str], owner: dict[str, str],
           batch: dict[str, list[PlateRecord]]) -> dict[str, list[PlateRecord]]:
    """Each plate's figures written on its detection, a bulk write per field and figure;
    returns ``batch``."""
    view = collection._dataset.select(list(batch))
    records = [r for found in batch.values() for r in found]
    values = {PLATE_TEXT: lambda r: r.text, plate_fact(field, "cover"): lambda r: r.cover,
              plate_fact(field, "ocr_text"): lambda r: r.text_after,
              plate_fact(field, "recovered"): lambda r: r.recovered, face_status(field): lambda r: r.status}
    for name in fields:
        mine = [r for r in records if owner[r.plate_id] == name]
        if mine:
            for fact, value in values.items():
                view.set_label_values(f"{name}.detections.{fact}", {r.plate_id: value(r) for r in mine})
    return batch


def _summary(field, plates_field, gt_field, found, owner, ocr: bool, why_not: str) -> PlateSummary:
    """The run's figures: the plates field's OCR and statuses, and with labels their recall."""
    records = {name: [r for s in sorted(found) for r in found[s] if owner[r.plate_id] == name]
               for name in {plates_field, gt_field or plates_field}}
    summary = PlateSummary(field=field, plates_field=plates_field, gt_field=gt_field, ocr=ocr,
                           ocr_unavailable=None if ocr else why_not, detected=ocr_figures(records[plates_field]))
    if gt_field:
        hits = []
        for sample_id in sorted(found):
            boxes = {name: [r.bounding_box for r in found[sample_id] if owner[r.plate_id] == name]
                     for name in (gt_field, plates_field)}
            hits += list(match_recall(boxes[gt_field], boxes[plates_field]))
        summary["labelled"] = labelled_figures(records[gt_field], hits)
    return summary
