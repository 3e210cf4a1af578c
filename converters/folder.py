"""A plain folder of images and videos as a source format, so that one command anonymizes it
like a dataset.

Every image file below the root is a photo to anonymize and every video file a video (chosen by
extension, like ``add_image_folder``; an animated GIF is a video, playing an MP4 made from it);
everything else comes back in the export byte for byte.
The folder is walked as the export walks it (``tree.files_of``), so both see the same files. A
FiftyOne dataset holds one kind of media, so the videos go into a companion video dataset
(``videos_of``). Numbered frames in a folder become a sequence (``sequences.sequence_frames``);
a MOTChallenge sequence's ground truth (``<seq>/gt/gt.txt`` beside ``<seq>/img1/``) gives each
frame its people, a second opinion for face detection.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import fiftyone as fo

from ldfa.converters import tree
from ldfa.converters.sequences import mot_gt_of, mot_people, sequence_frames
from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.geometry.boxes import from_pixels
from ldfa.plugin.io.folders import MEDIA_HINTS, media_kind, video_sample
from ldfa.plugin.io.images import display_size
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.schema import SEQUENCE, SEQUENCE_FRAME, VIDEOS_SUFFIX

PEOPLE = "people"  # the field of a MOT sequence's ground-truth people


def import_folder(root: str | Path, dataset: fo.Dataset, progress: ProgressArg = True) -> dict:
    """Add every image below ``root`` that ``dataset`` does not hold yet, with its ``relpath``,
    and every video to the companion video dataset (made when the first video comes).

    ``root`` may also be one image or video file: its folder is then the source tree and the file
    the only part of it imported (``info["ldfa_source"]["only"]``, which the export respects). A
    folder without any image or video file is an error; a symlink leading outside the root is
    reported and skipped (the export leaves it out too), and so is a malformed ``gt.txt`` (its
    frames come without people). A video that cannot be read is added all the same and reported:
    detection records its failure and the export leaves it out, as for a corrupt image."""
    source = Path(root).expanduser().resolve()
    root = source.parent if source.is_file() else source
    files = [source.name] if source.is_file() else list(tree.files_of(root))
    kinds = {rel: media_kind(root / rel) for rel in files}
    images = [rel for rel in files if kinds[rel] == "image"]
    videos = [rel for rel in files if kinds[rel] == "video"]
    if not images and not videos:
        raise ConfigError(f"{source} holds no image or video files ({len(files)} other files); "
                          f"{MEDIA_HINTS['image']}, {MEDIA_HINTS['video']}")
    frames = sequence_frames(images, lambda rel: _size(root / rel))
    problems: list[dict] = []
    people = _mot_people(root, frames, set(files), problems)
    videos_dataset = videos_of(dataset)
    videos_name = videos_dataset.name if videos_dataset is not None else f"{dataset.name}{VIDEOS_SUFFIX}"
    existing = _relpaths(dataset) | _relpaths(videos_dataset)
    samples, video_samples = [], []
    with Progress(len(images) + len(videos), "Importing folder", progress) as bar:
        for rel in images + videos:
            bar.update()
            if rel in existing:
                continue
            if not (root / rel).resolve().is_relative_to(root):
                problems.append({"file": rel, "error": "symlink leading outside the root: skipped"})
                continue
            if kinds[rel] == "video":
                sample, error = video_sample(root / rel, videos_name, relpath=rel)
                if error:
                    problems.append({"file": rel, "error": f"{error}: added without metadata; detection will "
                                     "record it as failed and the export leave it out"})
                video_samples.append(sample)
                continue
            sample = fo.Sample(filepath=str(root / rel), relpath=rel)
            if rel in frames:
                sample[SEQUENCE], sample[SEQUENCE_FRAME] = frames[rel]
            if rel in people:
                sample[PEOPLE] = people[rel]
            samples.append(sample)
    dataset.add_samples(samples, progress=False)
    info = {"format": "folder", "root": str(root), "people_fields": [PEOPLE] if people else []}
    if source.is_file():
        info["only"] = [source.name]
    if video_samples:
        videos_dataset = videos_dataset or _companion(dataset)
        videos_dataset.add_samples(video_samples, progress=False)
    if videos_dataset is not None:
        info["videos_dataset"] = videos_dataset.name
        videos_dataset.info["ldfa_source"] = {**info, "people_fields": [], "images_dataset": dataset.name}
        videos_dataset.save()
    dataset.info["ldfa_source"] = info
    dataset.save()
    return {"images": len(samples), "videos": len(video_samples),
            "other_files": len(files) - len(images) - len(videos), "problems": problems}


def videos_of(dataset: fo.Dataset) -> fo.Dataset | None:
    """The video dataset that holds the videos of ``dataset``'s source folder, if it has any."""
    name = (dataset.info.get("ldfa_source") or {}).get("videos_dataset")
    return fo.load_dataset(name) if name and fo.dataset_exists(name) else None


def _companion(dataset: fo.Dataset) -> fo.Dataset:
    """A new video dataset ``<name>-videos``, kept as long as ``dataset`` is (persistent or not);
    one of that name left from an earlier import of this dataset is taken up again."""
    name = f"{dataset.name}{VIDEOS_SUFFIX}"
    if fo.dataset_exists(name):
        return fo.load_dataset(name)
    videos = fo.Dataset(name)
    videos.persistent = dataset.persistent
    return videos


def _relpaths(dataset: fo.Dataset | None) -> set[str]:
    return set(dataset.values("relpath")) if dataset is not None and dataset.has_field("relpath") else set()


def _mot_people(root: Path, frames: dict[str, tuple[str, int]], files: set[str],
                problems: list[dict]) -> dict[str, fo.Detections]:
    """The ground-truth people of each frame of a MOT sequence (``<seq>/img1/`` beside
    ``<seq>/gt/gt.txt``) as person boxes, each with its track id as ``index``. A frame the file
    names no one in gets an empty field: looked at, nobody there."""
    by_folder: dict[str, list[str]] = {}
    for rel in frames:
        by_folder.setdefault(PurePosixPath(rel).parent.as_posix(), []).append(rel)
    people = {}
    for folder, rels in by_folder.items():
        gt = mot_gt_of(folder)
        if gt not in files:
            continue
        try:
            boxes = mot_people((root / gt).read_text())
        except (ConfigError, OSError, UnicodeDecodeError) as e:
            problems.append({"file": gt, "error": f"malformed: {e}"})
            continue
        for rel in rels:
            try:
                width, height = display_size(str(root / rel))
            except ImageError:
                continue  # detection records the unreadable frame itself
            people[rel] = fo.Detections(detections=[
                fo.Detection(label="person", index=b.track, visibility=b.visibility,
                             bounding_box=from_pixels(b.x - 1, b.y - 1, b.w, b.h, width, height))
                for b in boxes.get(frames[rel][1], [])])
    return people


def _size(path: Path) -> tuple[int, int] | None:
    """An image's size, read from its header; None when it cannot be read."""
    try:
        return display_size(str(path))
    except ImageError:
        return None
