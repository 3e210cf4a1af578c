"""``ldfa detect``: detect faces in a dataset, optionally building it from a folder of images or videos."""

from __future__ import annotations

from ldfa.cli.options import add_options, given
from ldfa.cli.output import emit
from ldfa.plugin.detection.track_config import TrackConfig
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.models.plates import PlateDetectorConfig
from ldfa.plugin.schema import FACES, PLATES


def add_parser(sub):
    p = sub.add_parser("detect", help="detect faces into a Detections field",
                       description="Detect faces in every image or video of a FiftyOne dataset; "
                       "faces in videos and frame sequences are tracked.")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset name")
    p.add_argument("--images", metavar="FILE_OR_DIR",
                   help="add this image, or the images below DIR, first (creates the dataset if needed)")
    p.add_argument("--videos", metavar="FILE_OR_DIR",
                   help="add this video, or the videos below DIR, first (creates a video dataset if "
                   "needed); faces go to frames.FIELD, each with its track id")
    p.add_argument("--field", default=FACES, help=f"Detections field to write (default: {FACES})")
    p.add_argument("--people-field", nargs="+", metavar="FIELD",
                   help="Polylines/Detections fields with the dataset's people (gt_fine, persons, "
                   "ground_truth): a person without a face gets a closer look, then keypoints")
    add_options(p, DetectorConfig, group="detection")
    p.add_argument("--plates", action="store_true",
                   help="licence plates too, into their own Detections field (tracked in videos)")
    p.add_argument("--plates-field", default=PLATES, help=f"with --plates: the plates' field (default: {PLATES})")
    add_options(p, PlateDetectorConfig, skip=("device",), group="licence plates (with --plates)")
    add_options(p, TrackConfig, group="tracking (videos and frame sequences)")
    add_options(p, EngineConfig, group="engine")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.detection.plates import detect_plates
    from ldfa.plugin.errors import ConfigError
    from ldfa.plugin.io.folders import add_image_folder, add_video_folder, dataset_for_command, scan_image_folder

    # every input checked before a dataset is made for it
    DetectorConfig.build(**given(args, DetectorConfig))
    plate_params = given(args, PlateDetectorConfig, skip=("device",)) | (
        {"device": args.device} if getattr(args, "device", None) else {})
    if args.plates:
        PlateDetectorConfig.build(**plate_params)
    TrackConfig.build(**given(args, TrackConfig))
    EngineConfig.of(given(args, EngineConfig))
    if args.images and args.videos:
        raise ConfigError("a FiftyOne dataset holds images or videos, not both: "
                          "detect each into its own --dataset")
    images = scan_image_folder(args.images) if args.images else None
    with dataset_for_command(args.dataset, create=bool(images or args.videos)) as dataset:
        added = (add_image_folder(dataset, images) if images
                 else add_video_folder(dataset, args.videos) if args.videos else None)
        summary = detect_faces(dataset, label_field=args.field, people_field=args.people_field,
                               progress=not args.json, engine=given(args, EngineConfig),
                               tracking=given(args, TrackConfig), **given(args, DetectorConfig))
        plates = detect_plates(dataset, label_field=args.plates_field, progress=not args.json,
                               engine=given(args, EngineConfig), tracking=given(args, TrackConfig),
                               **plate_params) if args.plates else None
    kind = "videos" if args.videos else "images"
    result = {"dataset": dataset.name, f"{kind}_added": added, **summary.to_dict()}
    text = str(summary)
    if plates is not None:
        result["plates"] = plates.to_dict()
        text += f"\n{plates}"
    if added:
        text = (f"added {added['added']} {kind} to '{dataset.name}' "
                f"({added[f'not_{kind}']} other files ignored)\n{text}")
    emit(result, args.json, text)
    return 1 if summary.images and summary.failed == summary.images else 0
