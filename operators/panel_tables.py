"""What the "Anonymization audit" panel's tables show: per version its review queue, privacy,
utility, by-size and over-time rows, and its licence plates' queue, read from recorded runs and
per-face (per-plate) statuses only (never a computation), each rate beside the faces it counts."""

from __future__ import annotations

import os

from ldfa.operators.tiles import EMBEDDER_NAMES, MISSED
from ldfa.plugin.audit.views import (
    FACE_SIZES,
    embedder_of,
    plate_counts,
    status_counts,
    temporal_results,
)
from ldfa.plugin.freshness import stale_samples
from ldfa.plugin.metrics.attributes_core import MIN_FACE_PX
from ldfa.plugin.metrics.report import ATTRIBUTE_COLUMNS, size_table
from ldfa.plugin.runs import anonymized_fields, faces_field_of, run_results
from ldfa.plugin.schema import (
    AT_RISK,
    ATTRIBUTES,
    DETECTION_EVAL,
    FACE_STATUSES,
    IDENTITY,
    NOT_MEASURABLE,
    ORIGINAL,
    PLATE_EVAL,
    REPLACED,
    RESIDUAL,
    run_key,
)

# the review queue per version: every face has one status; a click on a count opens its faces
QUEUES = (*FACE_STATUSES, MISSED)
QUEUE_COLUMNS = {"field": "version", "faces": "faces", "judged": "judged",
                 f"count_{AT_RISK}": "at risk ↓", f"count_{NOT_MEASURABLE}": "not measurable ↓",
                 f"count_{REPLACED}": "replaced ↑", f"count_{MISSED}": "missed by detector ↓",
                 "stale": "stale images ↓"}
# the licence plates' review queue per version: every plate has one status (``plate_counts``), then
# what the plate measures counted (``ldfa.plugin.metrics.plates``' results, None where not recorded):
# text leaks over the plates whose original OCR reads, and against labelled plates, recall and cover
PLATE_QUEUE_COLUMNS = {"field": "version", "plates": "plates", f"count_{AT_RISK}": "at risk ↓",
                       f"count_{NOT_MEASURABLE}": "not measurable ↓", f"count_{REPLACED}": "replaced ↑",
                       "leaks_shown": "text read after ↓", "recall_shown": "labelled plates found ↑",
                       "covered_shown": "labelled plates covered whole ↑"}
# each rate beside what it counts (judged / total)
PRIVACY_COLUMNS = {"field": "version", "same_person_shown": "same person (any model) ↓",
                   "reid_shown": "re-id (any model) ↓", "residual_shown": "residual ↓",
                   "dist_shown": "distance ↑ (one model)"}
UTILITY_COLUMNS = {"field": "version", "mAP": "mAP ↑", "mAP_s": "AP <32²", "mAP_m": "AP 32²-96²", "mAP_l": "AP >96²",
                   "mesh_read_shown": f"mesh reads (≥ {MIN_FACE_PX} px)", "mesh_kept": "mesh finds ↑",
                   "pose_diff_deg": "pose Δ° ↓", "eye_diff": "eyes Δ ↓", "mouth_diff": "mouth Δ ↓",
                   "landmark_nme": "NME ↓"}
# the same figures by face size (shorter side): small street faces are where methods differ
SIZE_COLUMNS_TABLE = {"field": "version", "size": "face px", "faces": "faces", "residual": "residual ↓",
                      "same_person_shown": "same person (any model) ↓", "models_shown": "each model: same person ↓",
                      "pose_diff_deg": "pose Δ° ↓", "landmark_nme": "NME ↓"}
SIZE_COLUMNS = dict(zip(FACE_SIZES, ("mAP_s", "mAP_m", "mAP_l")))  # COCO's area ranges
# the figures over time of videos and frame sequences (``ldfa.plugin.metrics.temporal``)
TEMPORAL_COLUMNS = {"field": "version", "clips": "clips", "frames": "frames", "tracks": "face tracks",
                    "leaks": "leaked face frames (must be 0)", "leaking_tracks": "leaking tracks",
                    "failed": "clips not measured", "stale": "stale", "flicker": "flicker ↓",
                    "flicker_original": "flicker, original", "same_new": "new faces apart ↓",
                    "to_original": "from the original ↑", "judged": "tracks judged"}
LEAK_COLUMNS = {"clip": "clip", "track": "track", "count": "frames leaked", "frames": "frame numbers"}


def table_rows(dataset) -> list[dict]:
    """The report's comparison rows from recorded runs only; a missing measure stays None. Each
    version's review queue (faces per status, detector misses); same person and re-id are the
    strictest judge's (any model of the version's identity run), each shown beside the faces it
    counts; the distance is that of the embedder ``embedder_of`` names."""
    methods = {ORIGINAL: ORIGINAL, **anonymized_fields(dataset)}
    faces_field = faces_field_of(dataset)
    rows = []
    for field, method in methods.items():
        det = run_results(dataset, run_key(DETECTION_EVAL, field)) or {}
        ident = run_results(dataset, run_key(IDENTITY, field)) or {}
        embedder = embedder_of(dataset, field)
        stats = (ident.get("embedders") or {}).get(embedder) or {}
        verdict = ident.get("verdict") or {}
        kept = run_results(dataset, run_key(RESIDUAL, field)) or {}
        attributes = run_results(dataset, run_key(ATTRIBUTES, field)) or {}
        counts = {} if field == ORIGINAL or dataset.media_type == "video" else status_counts(
            dataset, field, faces_field)
        faces = det.get("faces") or counts.get("faces") or verdict.get("faces")
        row = {"method": method, "field": field, "faces": faces,
               "stale": None if field == ORIGINAL else len(stale_samples(dataset, field)),
               "judged": verdict.get("judged"), **{f"count_{q}": counts.get(q) for q in QUEUES},
               "residual": kept.get("mean"), "same_person": verdict.get("same_person_rate"),
               "reid": verdict.get("reid_rate"), "not_measurable": verdict.get("not_measurable"),
               "embedder": embedder, "dist": stats.get("mean"),
               "same_person_shown": _share(verdict.get("same_person_rate"), verdict.get("same_person"),
                                           verdict.get("judged"), verdict.get("faces")),
               "reid_shown": _share(verdict.get("reid_rate"), None, verdict.get("judged"), verdict.get("faces")),
               "residual_shown": _mean(kept.get("mean"), kept.get("measured"), kept.get("faces")),
               "dist_shown": _mean(stats.get("mean"), stats.get("measured"), stats.get("faces"),
                                   EMBEDDER_NAMES.get(embedder, embedder))}
        row.update({c: det.get(c) for c in ("mAP", "mAP_s", "mAP_m", "mAP_l")})
        row.update({c: attributes.get(c) for c in ATTRIBUTE_COLUMNS})
        read = attributes.get("measured", 0) + attributes.get("no_face_left", 0) if attributes else None
        row["mesh_read_shown"] = None if read is None else f"{read} / {attributes['faces']}"
        rows.append(_rounded(row))
    return rows


def plate_rows(dataset, plates_field: str) -> list[dict]:
    """Per anonymized version, its licence plates by review status and what its plate measures
    counted, each figure beside what it counts; none when the dataset holds no plates (or videos:
    their plates are on frames)."""
    if dataset.media_type == "video" or not dataset.has_sample_field(plates_field):
        return []
    rows = []
    for field, method in anonymized_fields(dataset).items():
        counts = plate_counts(dataset, field, plates_field)
        measured = run_results(dataset, run_key(PLATE_EVAL, field)) or {}
        detected, labelled = measured.get("detected") or {}, measured.get("labelled")
        leaks = (f"{detected['leaks']} of {detected['readable_before']} readable" if measured.get("ocr")
                 else measured.get("ocr_unavailable"))
        rows.append({"field": field, "method": method, "plates": counts["plates"],
                     **{f"count_{s}": counts[s] for s in FACE_STATUSES}, "leaks_shown": leaks,
                     "recall_shown": _of(labelled, "recall", "matched"),
                     "covered_shown": _of(labelled, "covered_whole", "covered")})
    return rows


def _of(figures: dict | None, rate: str, count: str) -> str | None:
    """A rate over labelled plates beside what it counts: ``0.950 (19 / 20)``."""
    if not figures or figures.get(rate) is None:
        return None
    return f"{figures[rate]:.3f} ({figures[count]} / {figures['plates']})"


def size_rows(dataset, rows: list[dict]) -> list[dict]:
    """The by-size table (``size_table``) with each rate beside the faces it counts."""
    out = []
    for cell in size_table(dataset, rows):
        models = [(name.removesuffix("_within"), cell[name]) for name in cell if name.endswith("_within")]
        cell["same_person_shown"] = _share(cell["same_person"], None, cell["judged"], cell["faces"])
        cell["models_shown"] = " · ".join(
            f"{EMBEDDER_NAMES.get(name, name)} {_share(rate, None, cell[f'{name}_judged'], None)}"
            for name, rate in models if cell[f"{name}_judged"]) or None
        out.append(_rounded(cell))
    return out


def _share(rate: float | None, count: int | None, judged: int | None, faces: int | None) -> str | None:
    """A rate beside what it counts: ``0.448 (13 / 29 judged of 128)``; the count is derived from
    the rate where not given. None when nothing was measured."""
    if judged is None:
        return None
    whole = f" of {faces}" if faces is not None else ""
    if rate is None or not judged:
        return f"none judged{whole}"
    count = round(rate * judged) if count is None else count
    return f"{rate:.3f} ({count} / {judged} judged{whole})"


def _mean(value: float | None, measured: int | None, faces: int | None, model: str | None = None) -> str | None:
    """A mean beside the faces it is over: ``0.743 (53 of 54 measured)``, with the model named."""
    if measured is None:  # a run that did not count its faces: the mean alone
        return None if value is None else f"{value:.3f}"
    over = f"{measured} of {faces} measured" if faces is not None else f"{measured} measured"
    return f"{'none' if value is None else f'{value:.3f}'} ({over}{f', {model}' if model else ''})"


def temporal_rows(dataset) -> list[dict]:
    """Per anonymized version, the totals of its temporal run (None where it never ran): leaks,
    flicker beside the original's, identity consistency (a track's new faces apart, and from the
    original; over the tracks the embedder could judge)."""
    rows = []
    for field, method in anonymized_fields(dataset).items():
        t = temporal_results(dataset, field) or {}
        leaks, flicker, same = t.get("leaks") or {}, t.get("flicker") or {}, t.get("consistency") or {}
        rows.append(_rounded({
            "field": field, "method": method, "clips": t.get("clips"), "frames": t.get("frames"),
            "tracks": t.get("tracks"), "failed": len(t["failed"]) if "failed" in t else None,
            "stale": len(stale_samples(dataset, field)), "leaks": leaks.get("total"),
            "leaking_tracks": len(leaks["tracks"]) if "tracks" in leaks else None,
            "flicker": flicker.get("anonymized"), "flicker_original": flicker.get("original"),
            "same_new": same.get("anonymized"), "to_original": same.get("to_original"),
            "judged": f"{same['judged']} of {same['tracks']}" if same else None,
            "embedder": same.get("embedder")}))
    return rows


def leak_rows(dataset, field: str) -> list[dict]:
    """Every track version ``field`` left in the clear somewhere, with the frames where it did."""
    video = dataset.media_type == "video"
    return [{"clip": os.path.basename(t["clip"]) if video else t["clip"], "path": t["clip"],
             "track": t["track"], "count": len(t["frames"]), "frames": _spans(t["frames"]),
             "numbers": t["frames"]}
            for t in ((temporal_results(dataset, field) or {}).get("leaks") or {}).get("tracks", [])]


def _spans(numbers: list[int]) -> str:
    """Frame numbers as runs: ``[3, 4, 5, 9]`` -> ``3-5, 9``."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _rounded(row: dict) -> dict:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
