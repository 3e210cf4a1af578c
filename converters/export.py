"""Export of an anonymized field in the source dataset's own format and folder tree.

Every file of the source tree comes back under the same relative path: each imported image as
its anonymized version, each video of the companion video dataset as its anonymized video (under
the anonymized file's suffix when the codec asks another container: lossless FFV1 is ``.mkv``)
with its face tracks beside it (``<exported name>.faces.json``, FiftyOne's video labels format;
an animated GIF as a GIF again, its faces from the anonymized MP4 made from it), everything else
(annotations, label PNGs, extras) copied byte for byte or hard-linked; only
photos and videos that were never anonymized (in neither dataset, or whose anonymization failed)
are left out, and the manifest lists them with the reason. A single-file source exports that
file alone. Files are written one at a time, atomically, so memory stays flat and a rerun
resumes; the manifest next to the tree lists what was written for ``verify-export``.
"""

from __future__ import annotations

import shutil
import warnings
from itertools import islice
from pathlib import Path

import fiftyone as fo
import fiftyone.utils.eta as foue
import numpy as np

from ldfa.converters import manifest, tree
from ldfa.converters.folder import videos_of
from ldfa.converters.safety import check_output
from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.freshness import stale_samples
from ldfa.plugin.geometry.boxes import to_pixels
from ldfa.plugin.geometry.masks import regions_mask
from ldfa.plugin.io.images import display_size
from ldfa.plugin.io.output import copy_atomic
from ldfa.plugin.io.video import read_frames, rewrite_video
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import run_config
from ldfa.plugin.schema import ANONYMIZE, run_key


def source_of(dataset: fo.Dataset) -> dict:
    info = dataset.info.get("ldfa_source")
    if not info:
        raise ConfigError(f"dataset '{dataset.name}' was not imported with `ldfa import`; "
                          "export needs the source tree it came from")
    return info


def prepare(dataset: fo.Dataset, field: str, output: Path, overwrite: bool = False) -> dict:
    """Check the output is safe and claim it with an (incomplete) manifest; returns the manifest."""
    info = source_of(dataset)
    root = Path(info["root"])
    previous = manifest.read(output)
    resumable = bool(previous) and previous["source_root"] == str(root) and previous["field"] == field
    check_output(root, output, resumable, overwrite, info.get("only", ()))
    if overwrite and not resumable and output.exists():
        shutil.rmtree(output)
    claim = {"format": info["format"], "source_root": str(root), "field": field,
             "complete": False, "files": {}, "skipped": []}
    if info.get("only"):
        claim["only"] = list(info["only"])
    output.mkdir(parents=True, exist_ok=True)
    manifest.write(output, claim)
    return claim


def refuse_stale(dataset: fo.Dataset, field: str, run: dict) -> None:
    """An image or video whose faces changed after it was written may show a face in the clear:
    say how many there are and the command that redoes them, before anything is written."""
    stale = stale_samples(dataset, field, run["faces_field"])
    if stale:
        raise ConfigError(
            f"{len(stale)} {dataset.media_type}(s) of '{field}' are stale (their faces changed after they "
            f"were written); redo them with `ldfa anonymize --dataset {dataset.name} --method {run['method']} "
            f"--field {field} --output-dir {run['output_dir']}`, then export")


def _anonymization(dataset: fo.Dataset | None, field: str) -> dict | None:
    """The anonymization run of ``field`` on ``dataset``, checked fresh; None for a missing or
    empty dataset without one (a folder of videos only has no image to anonymize)."""
    if dataset is None:
        return None
    run = run_config(dataset, run_key(ANONYMIZE, field))
    if run is None and len(dataset):
        raise ConfigError(f"field '{field}' of dataset '{dataset.name}' holds no ldfa anonymization; "
                          "run `ldfa anonymize` first")
    if run is not None:
        refuse_stale(dataset, field, run)
    return run


def _mask(run: dict) -> dict:
    """The mask parameters verification rebuilds the face (and licence plate) masks with."""
    config = run["config"]
    mask = {"grow": config["mask_grow"], "ellipse": config["mask_ellipse"], "fade_px": config["mask_blur_px"]}
    if run.get("plates_field"):
        mask["plates"] = {"grow": config["plate_grow"], "fade_px": config["mask_blur_px"]}
    return mask


def export_anonymized(dataset: fo.Dataset, field: str, output: str | Path, link: bool = False,
                      overwrite: bool = False, faces_coco: bool = False,
                      progress: ProgressArg = True) -> dict:
    """Write the anonymized dataset to ``output`` in its source format; returns a summary.

    Args:
        dataset: a dataset made by ``ldfa import`` (it knows its source tree)
        field: the anonymized field to export (e.g. ``anon_ldfa``)
        output: an empty folder outside the source tree (or this export's own, to resume)
        link: hard-link unchanged files instead of copying them
        overwrite: replace a non-empty output folder
        faces_coco: COCO only: also write the faces as ``ldfa_faces.json`` beside the annotations
        progress: True for a progress bar, False for none, or a ``(fraction, label)`` callable

    The videos of the companion video dataset (``ldfa_source["videos_dataset"]``) are exported
    from the same ``field`` there, each with its face tracks; either dataset may be empty.
    """
    output = Path(output).expanduser().resolve()
    images_of, videos = (None, dataset) if dataset.media_type == "video" else (dataset, videos_of(dataset))
    run, video_run = _anonymization(images_of, field), _anonymization(videos, field)
    if run is None and video_run is None:
        raise ConfigError(f"field '{field}' holds no ldfa anonymization; run `ldfa anonymize` first")
    claim = prepare(dataset, field, output, overwrite)
    faces_field = (run or video_run)["faces_field"]
    claim.update(method=(run or video_run)["method"], faces_field=faces_field)
    images = {}
    if run is not None:
        claim["mask"] = _mask(run)
        relpaths, anonymized, boxes = dataset.values(["relpath", field, f"{faces_field}.detections.bounding_box"])
        plates = dataset.values(f"{run['plates_field']}.detections.bounding_box") if run.get("plates_field") \
            else [None] * len(relpaths)
        images = {r: (a, b or [], p or []) for r, a, b, p in zip(relpaths, anonymized, boxes, plates)}
    clips = {}
    if video_run is not None:
        claim["videos"] = {"dataset": videos.name, "method": video_run["method"],
                           "faces_field": video_run["faces_field"], "mask": _mask(video_run),
                           "quality": video_run["config"].get("video_quality")}  # H.264's CRF
        clips = {r: (a, i) for r, a, i in zip(*videos.values(["relpath", field, "id"]))} if len(videos) else {}
    info, root = source_of(dataset), Path(claim["source_root"])
    counts = {"anonymized": 0, "without_faces": 0, "videos": 0, "videos_without_faces": 0, "copied": 0}
    with Progress(len(images) + len(clips), f"Exporting {info['format']}", progress) as bar:
        for rel in info.get("only") or tree.files_of(root):
            if rel in clips:
                bar.update()
                written = _export_video(rel, root, output, clips[rel], videos, video_run, field,
                                        claim["videos"]["mask"])
                if isinstance(written, str):
                    claim["skipped"].append({"file": rel, "reason": written})
                    continue
                claim["files"].update(written)
                video = next(iter(written.values()))  # then its face tracks file
                counts["videos" if video["frames"] else "videos_without_faces"] += 1
                continue
            kind, reason = _export_one(rel, root, output, images, info["format"], field, link)
            if kind is None:
                claim["skipped"].append({"file": rel, "reason": reason})
                continue
            if kind == "anonymized":
                bar.update()
                faces, plates = images[rel][1:]
                claim["files"][rel] = {"kind": kind, "faces": faces} | ({"plates": plates} if plates else {})
                counts["anonymized" if faces or plates else "without_faces"] += 1
            else:
                claim["files"][rel] = {"kind": kind}
                counts["copied"] += 1
    if faces_coco and info["format"] == "coco":
        rel = (Path(info["annotations"]).parent / "ldfa_faces.json").as_posix()
        _write_faces_coco(dataset, faces_field, output / rel)
        claim["files"][rel] = {"kind": "added"}
    claim["complete"] = True
    manifest.write(output, claim)
    return {"output": str(output), "manifest": str(manifest.manifest_path(output)), **counts,
            "skipped": claim["skipped"]}


def _export_one(rel: str, root: Path, output: Path, images: dict, fmt: str, field: str, link: bool):
    """Export one source file: ``("anonymized" | "copy", None)``, or ``(None, reason)`` when it
    is left out: a photo or video the datasets do not hold (never anonymized), an imported image
    with no anonymized version, or a symlink leading outside the tree."""
    source, target = root / rel, output / rel
    if not source.resolve().is_relative_to(root.resolve()):
        return None, "a symlink leading outside the source tree: left out"
    if rel in images:
        path = images[rel][0]
        if not path:
            return None, f"no anonymized version in '{field}' (its anonymization failed or never ran)"
        if Path(path).resolve() != target:
            copy_atomic(path, target)
        return "anonymized", None
    media = tree.media_kind(rel, fmt)
    if media:
        return None, (f"a {media} that is not in the dataset, so never anonymized: left out "
                      "(import it to anonymize it)")
    if not (target.exists() and target.stat().st_size == source.stat().st_size):
        copy_atomic(str(source), target, link=link)
    return "copy", None


def _export_video(rel: str, root: Path, output: Path, clip: tuple[str | None, str], videos: fo.Dataset,
                  run: dict, field: str, mask: dict) -> dict[str, dict] | str:
    """Export one video of the video dataset: its manifest entries (the anonymized video, under
    the anonymized file's suffix, with its face boxes per frame, and its plate boxes per frame
    when the run replaced plates; its face tracks file), or the reason it is left out. An
    animated GIF, anonymized as the MP4 made from it, comes back as a
    GIF under its own name (``_write_gif``)."""
    path, sample_id = clip
    if not (root / rel).resolve().is_relative_to(root.resolve()):
        return "a symlink leading outside the source tree: left out"
    if not path:
        return f"no anonymized version in '{field}' (its anonymization failed or never ran)"
    gif = Path(rel).suffix.lower() == ".gif"
    name = rel if gif else Path(rel).with_suffix(Path(path).suffix).as_posix()
    if name != rel and (root / name).exists():
        return f"its anonymized version would be named {name}, the name of another source file: left out"
    faces_field, plates_field = run["faces_field"], run.get("plates_field")
    video = videos[sample_id]
    frames = {n: frame[faces_field] for n, frame in video.frames.items()}
    boxes = _boxes_per_frame(frames)
    plates = _boxes_per_frame({n: frame[plates_field] for n, frame in video.frames.items()}) if plates_field else []
    if gif:
        try:
            _write_gif(root / rel, path, output / name, boxes, mask, plates)
        except ImageError as e:
            return f"its anonymized GIF could not be written ({e}): left out"
    elif Path(path).resolve() != output / name:
        copy_atomic(path, output / name)
    entry = ({"kind": "video", "frames": boxes} | ({"plate_frames": plates} if plates else {})
             | ({"source": rel} if name != rel else {}))
    labels = f"{name}.faces.json"
    if (root / labels).exists():  # the source's own file of that name is copied, never replaced
        return {name: entry}
    with warnings.catch_warnings():  # a face's landmarks (a list) are no ETA attribute: left out of the file
        warnings.filterwarnings("ignore", "Ignoring unsupported attribute type", UserWarning)
        tracks = foue.to_video_labels(frames={
            n: {f: frame[f] for f in filter(None, (faces_field, plates_field)) if frame[f] is not None}
            for n, frame in video.frames.items() if frame[faces_field] is not None})
    manifest.write_json(output / labels, tracks.serialize())
    return {name: entry, labels: {"kind": "added"}}


def _write_gif(original: Path, anonymized: str, target: Path, boxes: list, mask: dict, plates: list = ()) -> None:
    """The anonymized GIF: ``original``'s frames with each frame's face masks (as ``verify-export``
    draws them) filled from that frame of the ``anonymized`` MP4, written by ``rewrite_video``: the
    GIF's frames, timing, size, loop and, outside the masks, its pixels as they were (the MP4's
    compression does not reach them)."""
    faces = read_frames(anonymized)

    def edit(start: int, frames: list[np.ndarray]) -> list[np.ndarray]:
        done = []
        for n, (pixels, new) in enumerate(zip(frames, islice(faces, len(frames))), start):
            inside = regions_mask(pixels.shape[1], pixels.shape[0], boxes[n] if n < len(boxes) else [], mask,
                                  plates[n] if n < len(plates) else [])
            done.append(np.where(inside[..., None], new, pixels))
        return done

    rewrite_video(original, target, edit)


def _boxes_per_frame(frames: dict[int, fo.Detections | None]) -> list[list[list[float]]]:
    """The relative face boxes of frame 1, 2, ... up to the last frame with a face."""
    last = max((n for n, d in frames.items() if d is not None and d.detections), default=0)
    return [[list(d.bounding_box) for d in (frames.get(n) or fo.Detections()).detections]
            for n in range(1, last + 1)]


def _write_faces_coco(dataset: fo.Dataset, faces_field: str, path: Path) -> None:
    """The faces as a COCO detection file: same image ids and file names, category ``face``."""
    images, annotations = [], []
    for coco_id, file_name, filepath, faces in zip(*dataset.values(
            ["coco_id", "file_name", "filepath", faces_field])):
        w, h = display_size(filepath)  # the faces' boxes are relative to the image as shown
        images.append({"id": coco_id, "file_name": file_name, "width": w, "height": h})
        for det in (faces.detections if faces else []):
            box = to_pixels(det.bounding_box, w, h)
            annotations.append({"id": len(annotations) + 1, "image_id": coco_id, "category_id": 1,
                                "bbox": box, "area": box[2] * box[3], "iscrowd": 0,
                                "score": det.confidence})
    manifest.write_json(path, {"images": images, "annotations": annotations,
                               "categories": [{"id": 1, "name": "face"}]})
