"""``ldfa detect``: detect faces in a dataset, optionally building it from a folder of images."""

from __future__ import annotations

from ldfa.cli.options import add_options, given
from ldfa.cli.output import emit
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.schema import FACES


def add_parser(sub):
    p = sub.add_parser("detect", help="detect faces into a Detections field",
                       description="Detect faces in every image of a FiftyOne dataset.")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset name")
    p.add_argument("--images", metavar="DIR",
                   help="add the images below DIR first (creates the dataset if needed)")
    p.add_argument("--field", default=FACES, help=f"Detections field to write (default: {FACES})")
    p.add_argument("--people-field", nargs="+", metavar="FIELD",
                   help="Polylines/Detections fields with the dataset's people (gt_fine, persons, "
                   "ground_truth): a person without a face gets a closer look, then keypoints")
    add_options(p, DetectorConfig, group="detection")
    add_options(p, EngineConfig, group="engine")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.io.folders import add_image_folder, dataset_for_command, scan_image_folder

    # every input checked before a dataset is made for it
    DetectorConfig.build(**given(args, DetectorConfig))
    EngineConfig.of(given(args, EngineConfig))
    images = scan_image_folder(args.images) if args.images else None
    with dataset_for_command(args.dataset, create=images is not None) as dataset:
        added = add_image_folder(dataset, images) if images else None
        summary = detect_faces(dataset, label_field=args.field, people_field=args.people_field,
                               progress=not args.json, engine=given(args, EngineConfig),
                               **given(args, DetectorConfig))
    result = {"dataset": dataset.name, "images_added": added, **summary.to_dict()}
    text = str(summary)
    if added:
        text = (f"added {added['added']} images to '{dataset.name}' "
                f"({added['not_images']} non-image files ignored)\n{text}")
    emit(result, args.json, text)
    return 1 if summary.images and summary.failed == summary.images else 0
