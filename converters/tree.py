"""The files of a dataset's source tree, and which of them are photos or videos (which may show faces).

Export and verification walk the tree the same way, folder by folder, never holding the whole
listing in memory. A photo or video the datasets do not hold was never anonymized, so the export
leaves it out (and lists it with the reason) instead of copying faces into an anonymized dataset.
"""

from __future__ import annotations

import os
from pathlib import Path

from ldfa.plugin.io.images import is_image_name
from ldfa.plugin.io.video import is_video_name


def files_of(root: Path):
    """Every file below ``root``, root-relative, folder by folder in name order."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            yield (Path(folder) / name).relative_to(root).as_posix()


def is_photo(rel: str, fmt: str) -> bool:
    """Whether the root-relative file ``rel`` may be a camera photo: any image file, except,
    in Cityscapes, the annotation images under its ``gt*`` folders (label, instance and colour
    PNGs). Frames under ``leftImg8bit``, ``rightImg8bit`` or a ``*_sequence`` folder are photos;
    so is every image of a plain folder and of a COCO tree (annotation PNGs such as panoptic masks included: a COCO
    tree does not say which images are annotations)."""
    return is_image_name(rel) and not (fmt == "cityscapes" and rel.split("/", 1)[0].startswith("gt"))


def media_kind(rel: str, fmt: str) -> str | None:
    """``"video"`` for a video file (an animated GIF included), ``"photo"`` for a camera photo
    (``is_photo``), None for a file that shows no one (annotations, label images, extras)."""
    if is_video_name(rel):
        return "video"
    return "photo" if is_photo(rel, fmt) else None
