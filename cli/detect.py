"""``ldfa detect``: detect faces in a dataset, optionally building it from a folder of images."""

from __future__ import annotations

from ldfa.cli.output import emit
from ldfa.plugin.detection_config import BACKEND_NAMES, DEFAULT_BACKEND, DetectorConfig

DEFAULTS = DetectorConfig()


def add_parser(sub):
    p = sub.add_parser("detect", help="detect faces into a Detections field",
                       description="Detect faces in every image of a FiftyOne dataset.")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset name")
    p.add_argument("--images", metavar="DIR",
                   help="add the images below DIR first (creates the dataset if needed)")
    p.add_argument("--detector", choices=list(BACKEND_NAMES), default=DEFAULT_BACKEND,
                   help="face detector (default: %(default)s, the best recall in bench/detection.py)")
    p.add_argument("--field", default="faces", help="Detections field to write (default: faces)")
    p.add_argument("--confidence", type=float, default=DEFAULTS.confidence,
                   help="full-frame score at which a face is kept as found (default: %(default)s)")
    p.add_argument("--candidate-confidence", type=float, default=DEFAULTS.candidate_confidence,
                   help="weaker full-frame candidates down to this get a zoomed second look "
                   "(default: %(default)s)")
    p.add_argument("--zoom", type=float, default=DEFAULTS.zoom,
                   help="magnification of the second look; 1 turns it off (default: %(default)s)")
    p.add_argument("--zoom-confidence", type=float, default=DEFAULTS.zoom_confidence,
                   help="score at which a face found by the second look is kept (default: %(default)s)")
    p.add_argument("--min-face-px", type=int, default=DEFAULTS.min_face_px,
                   help="mark faces whose shorter side is smaller as `small` (they are kept)")
    p.add_argument("--max-side", type=int, default=DEFAULTS.max_side,
                   help="downscale longer images to this side for the full-frame pass")
    p.add_argument("--people-field", nargs="+", metavar="FIELD",
                   help="Polylines/Detections fields with the dataset's people (gt_fine, persons, "
                   "ground_truth): a person without a face gets a closer look, then keypoints")
    p.add_argument("--batch-size", type=int, help="images per detector call (default: 8 on GPU, 1 on CPU)")
    p.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ldfa.plugin.detect import detect_faces
    from ldfa.plugin.image_folders import add_image_folder, open_dataset

    dataset = open_dataset(args.dataset, create=args.images is not None)
    added = add_image_folder(dataset, args.images) if args.images else None
    summary = detect_faces(
        dataset, label_field=args.field, detector=args.detector, confidence=args.confidence,
        candidate_confidence=args.candidate_confidence, zoom=args.zoom,
        zoom_confidence=args.zoom_confidence, min_face_px=args.min_face_px,
        max_side=args.max_side, people_field=args.people_field, batch_size=args.batch_size,
        device=args.device, progress=not args.json,
    )
    result = {"dataset": dataset.name, "images_added": added, **summary.to_dict()}
    text = str(summary)
    if added:
        text = (f"added {added['added']} images to '{dataset.name}' "
                f"({added['not_images']} non-image files ignored)\n{text}")
    emit(result, args.json, text)
    return 1 if summary.images and summary.failed == summary.images else 0
