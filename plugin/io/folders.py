"""Building and extending datasets from folder trees of images or videos (``ldfa detect --images``,
``--videos``, the demo)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import fiftyone as fo

from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.io.images import is_image_name
from ldfa.plugin.io.video import gif_proxy, is_animated_gif, is_video_name, probe
from ldfa.plugin.runs import anonymized_fields, run_config
from ldfa.plugin.schema import ANONYMIZE, VIDEOS_SUFFIX, run_key

MEDIA_HINTS = {"image": "image files end in .jpg, .png, .tif and the like (an animated GIF is a video)",
               "video": "video files end in .mp4, .mov, .mkv, .avi or .webm, or are animated GIFs"}
# On the video sample of an animated GIF: the GIF's path (the sample's filepath is the MP4 made from it)
ORIGINAL_GIF = "original_gif"


def media_kind(path: str | Path) -> str | None:
    """``"image"`` or ``"video"``: the kind of sample a file becomes, by its extension; None for
    any other file. A GIF is read as far as its second frame: an animated GIF is a video (its
    sample plays the MP4 ``video_sample`` makes of it: FiftyOne types a sample by its file's MIME
    type, and a GIF forced to video breaks the dataset's deletion), a one-frame GIF an image."""
    if Path(path).suffix.lower() == ".gif":
        return "video" if is_animated_gif(path) else "image"
    if is_image_name(str(path)):
        return "image"
    return "video" if is_video_name(str(path)) else None


@dataclass(frozen=True)
class MediaFolder:
    """A folder's files of one kind (sorted) and its count of other files, as ``scan_media`` found them."""

    folder: Path
    files: list[Path]
    others: int
    kind: str  # "image" or "video": FiftyOne's media type of their samples


def scan_media(path: str | Path, kind: str) -> MediaFolder:
    """The ``kind`` files below the folder ``path`` (or the file ``path`` itself), checked before
    any dataset is made for them.

    Files are chosen by their extension (``media_kind``), so a corrupt ``.jpg`` or ``.mp4`` is
    kept (and recorded as a failure when read) while annotation files and other files are
    counted. Paths stay below the folder as given: a symlink is read through, but it does not
    move the tree the anonymized copies mirror. A folder without any such file is an error, like
    a missing one.
    """
    path = Path(os.path.abspath(Path(path).expanduser()))
    if path.is_file():
        if media_kind(path) != kind:
            raise ConfigError(f"{path} is not a {kind} file; {MEDIA_HINTS[kind]}")
        return MediaFolder(path.parent, [path], 0, kind)
    if not path.is_dir():
        raise ConfigError(f"{path} is not a folder" if kind == "image" else f"{path} is neither a file nor a folder")
    files, others = [], 0
    for found in sorted(p for p in path.rglob("*") if p.is_file()):
        if media_kind(found) == kind:
            files.append(found)
        else:
            others += 1
    if not files:
        raise ConfigError(f"{path} holds no {kind} files ({others} other files); {MEDIA_HINTS[kind]}")
    return MediaFolder(path, files, others, kind)


def scan_image_folder(folder: str | Path) -> MediaFolder:
    """``scan_media`` of the images below ``folder``."""
    return scan_media(folder, "image")


def video_sample(path: str | Path, dataset: str, **fields) -> tuple[fo.Sample, str | None]:
    """A video sample for dataset ``dataset`` with its ``fo.VideoMetadata`` from PyAV (FiftyOne's
    own would need the ffprobe program), and why it could not be read, if so: such a video is
    still a sample, without metadata, so that detection records its failure as it does a corrupt
    image's and the export leaves it out, listed, instead of copying it. An animated GIF's sample
    plays an MP4 made from it (``gif_proxy_path``), its own path in ``ORIGINAL_GIF``: detection,
    anonymization and the App work on the MP4, and the export writes the GIF back."""
    gif = Path(path).suffix.lower() == ".gif"
    if gif:
        fields[ORIGINAL_GIF], path = str(path), gif_proxy_path(Path(path), dataset)
    sample = fo.Sample(filepath=str(path), **fields)
    try:
        info = gif_proxy(fields[ORIGINAL_GIF], path) if gif else probe(path)
        sample.metadata = fo.VideoMetadata(**info.metadata())
    except ImageError as e:
        return sample, str(e)
    return sample, None


def gif_proxy_path(gif: Path, dataset: str) -> Path:
    """Where the MP4 of the animated ``gif`` goes: in FiftyOne's folder for the media it makes
    (never beside the GIF, among originals), a folder per GIF path so that GIFs of one name never
    share an MP4."""
    digest = hashlib.sha256(os.path.abspath(gif).encode()).hexdigest()[:16]
    return Path(fo.config.default_dataset_dir) / "ldfa" / dataset / "gif" / digest / f"{gif.stem}.mp4"


def add_image_folder(dataset: fo.Dataset, folder: str | Path | MediaFolder) -> dict:
    """Add every image file below ``folder`` (or of a scanned one) that ``dataset`` does not hold
    yet, except its own anonymized copies: an output folder may lie below ``folder``, and its
    images are results, never sources to anonymize again."""
    found = folder if isinstance(folder, MediaFolder) else scan_image_folder(folder)
    return _add_new(dataset, found, lambda path: fo.Sample(filepath=str(path)))


def add_video_folder(dataset: fo.Dataset, file_or_folder: str | Path | MediaFolder) -> dict:
    """``add_image_folder`` for the video ``file_or_folder`` or the videos below it, each with its
    metadata (``video_sample``); ``problems`` lists the videos that could not be read."""
    found = file_or_folder if isinstance(file_or_folder, MediaFolder) else scan_media(file_or_folder, "video")
    problems = []

    def sample(path: Path) -> fo.Sample:
        made, error = video_sample(path, dataset.name)
        if error:
            problems.append({"file": str(path), "error": error})
        return made

    return {**_add_new(dataset, found, sample), "problems": problems}


def _add_new(dataset: fo.Dataset, found: MediaFolder, sample: Callable[[Path], fo.Sample]) -> dict:
    """Add a sample made by ``sample`` for each of ``found``'s files the dataset does not hold
    yet and no anonymization run of the dataset wrote."""
    if dataset.media_type not in (None, found.kind):
        raise ConfigError(f"dataset '{dataset.name}' holds {dataset.media_type}s, and a FiftyOne dataset holds "
                          f"one kind of media: add the {found.kind}s to a dataset of their own")
    existing = set(dataset.values("filepath"))
    if dataset.has_field(ORIGINAL_GIF):  # a GIF's sample plays the MP4 made from it
        existing |= set(dataset.values(ORIGINAL_GIF))
    outputs = _output_folders(dataset)
    new = [p for p in found.files if str(p) not in existing]
    added = [sample(p) for p in new if not any(p.is_relative_to(o) for o in outputs)]
    if added:
        dataset.add_samples(added, progress=False)
    return {"added": len(added), "already_present": len(existing), f"not_{found.kind}s": found.others,
            "outputs_left_out": len(new) - len(added)}


def _output_folders(dataset: fo.Dataset) -> list[Path]:
    """The folders the dataset's anonymization runs wrote to."""
    return [Path(config["output_dir"]) for field in anonymized_fields(dataset)
            if (config := run_config(dataset, run_key(ANONYMIZE, field))) and config.get("output_dir")]


def open_dataset(name: str, create: bool = False) -> fo.Dataset:
    """Load dataset ``name``; with ``create`` make it (persistent) when it does not exist."""
    if fo.dataset_exists(name):
        return fo.load_dataset(name)
    if not create:
        raise ConfigError(
            f"no dataset named {name!r} (existing: {', '.join(fo.list_datasets()) or 'none'}); "
            "make one with `ldfa detect --dataset NAME --images DIR` or `ldfa import`"
        )
    dataset = fo.Dataset(name)
    dataset.persistent = True
    return dataset


@contextlib.contextmanager
def dataset_for_command(name: str, create: bool = False):
    """``open_dataset`` for one command: a dataset this command creates is deleted again when
    the command fails or is interrupted, and so is its companion video dataset (``<name>-videos``)
    when the command made that too, so a failed command never leaves a dataset behind."""
    videos = f"{name}{VIDEOS_SUFFIX}"
    created = create and not fo.dataset_exists(name)
    videos_created = created and not fo.dataset_exists(videos)
    dataset = open_dataset(name, create)
    try:
        yield dataset
    except BaseException:
        if created and not dataset.deleted:
            dataset.delete()
        if videos_created and fo.dataset_exists(videos):
            fo.delete_dataset(videos)
        raise
