"""The source formats ldfa reads and writes back: which folder a source is, how to import it."""

from __future__ import annotations

from pathlib import Path

import fiftyone as fo

from ldfa.converters import FORMATS
from ldfa.converters.cityscapes import FRAMES, import_cityscapes
from ldfa.converters.coco import coco_root, import_coco
from ldfa.converters.folder import import_folder
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.folders import media_kind
from ldfa.plugin.progress import ProgressArg


def import_dataset(fmt: str, source: str | Path, dataset: fo.Dataset, annotations: str | None = None,
                   images: str | None = None, progress: ProgressArg = True) -> dict:
    """Import a Cityscapes root, a COCO folder (``images`` dir + ``annotations`` JSON) or a
    plain folder of images and videos (or one such file), checked as ``source_tree`` checks it."""
    source_tree(fmt, source, annotations, images)
    if fmt == "cityscapes":
        return import_cityscapes(source, dataset, progress=progress)
    if fmt == "folder":
        return import_folder(source, dataset, progress=progress)
    return import_coco(images or source, annotations, dataset, progress=progress)


def detect_format(source, annotations=None) -> str:
    """The format of a source folder, so that `ldfa run DIR` needs no format: COCO when an
    annotation file is given, Cityscapes for a root holding ``leftImg8bit/`` or
    ``leftImg8bit_sequence/``, else a plain folder (or a single file) of images and videos."""
    if annotations:
        return "coco"
    source = Path(source).expanduser()
    return "cityscapes" if any((source / folder).is_dir() for folder in FRAMES) else "folder"


def source_tree(fmt: str, source, annotations=None, images=None) -> Path:
    """The folder an import of these arguments reads and an export mirrors, checked to exist:
    the Cityscapes root or plain folder, or the folder holding both the COCO images and their
    JSON. A single image or video file is a plain folder's source too: its folder is the tree,
    and the file the only part of it imported and exported (``info["ldfa_source"]["only"]``)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    folder = Path(images or source).expanduser().resolve()
    if fmt == "folder" and folder.is_file():
        if not media_kind(folder):
            raise ConfigError(f"{folder} is neither an image nor a video (by its extension); "
                              "give a folder, or an image or video file")
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    if fmt != "coco":
        if annotations:
            raise ConfigError(f"--annotations is for COCO, not {fmt}; leave it out or use --format coco")
        return folder
    if not annotations:
        raise ConfigError("COCO needs --annotations FILE (the instances JSON)")
    json_file = Path(annotations).expanduser().resolve()
    if not json_file.is_file():
        raise ConfigError(f"{json_file} is not a file")
    return coco_root(folder, json_file)
