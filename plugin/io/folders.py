"""Building and extending datasets from folder trees of images (``ldfa detect --images``, the demo)."""

from __future__ import annotations

import os
from pathlib import Path

import fiftyone as fo

from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.images import is_image_name


def add_image_folder(dataset: fo.Dataset, folder: str | Path) -> dict:
    """Add every image file below ``folder`` that ``dataset`` does not hold yet.

    Files are chosen by their image extension, so a corrupt ``.jpg`` is added (and recorded as a
    failure when read) while annotation files and other non-images are counted, not added. Paths
    stay below ``folder`` as given: a symlink is read through, but it does not move the tree the
    anonymized copies mirror. A folder without any image file is an error, like a missing one.
    """
    folder = Path(os.path.abspath(Path(folder).expanduser()))
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    existing = set(dataset.values("filepath"))
    images, others = [], 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if is_image_name(path.name):
            images.append(path)
        else:
            others += 1
    if not images:
        raise ConfigError(f"{folder} holds no image files ({others} other files); "
                          "image files end in .jpg, .png, .tif and the like")
    added = [fo.Sample(filepath=str(path)) for path in images if str(path) not in existing]
    if added:
        dataset.add_samples(added, progress=False)
    return {"added": len(added), "already_present": len(existing), "not_images": others}


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
