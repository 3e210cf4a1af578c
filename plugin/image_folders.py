"""Building and extending datasets from folder trees of images (``ldfa detect --images``, the demo)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import fiftyone as fo

from ldfa.plugin.errors import ConfigError


def add_image_folder(dataset: fo.Dataset, folder: str | Path) -> dict:
    """Add every image file below ``folder`` that ``dataset`` does not hold yet.

    Files are chosen by their image extension, so a corrupt ``.jpg`` is added (and recorded as a
    failure when read) while annotation files and other non-images are counted, not added.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"--images {folder}: not a folder of images")
    existing = set(dataset.values("filepath"))
    added, others = [], 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        kind = mimetypes.guess_type(path.name)[0] or ""
        if not kind.startswith("image/"):
            others += 1
        elif str(path) not in existing:
            added.append(fo.Sample(filepath=str(path)))
    if added:
        dataset.add_samples(added, progress=False)
    return {"added": len(added), "already_present": len(existing), "not_images": others}


def open_dataset(name: str, create: bool = False) -> fo.Dataset:
    """Load dataset ``name``; with ``create`` make it (persistent) when it does not exist."""
    if fo.dataset_exists(name):
        return fo.load_dataset(name)
    if not create:
        raise ConfigError(
            f"no dataset named {name!r}; pass --images DIR to create it "
            f"(existing: {', '.join(fo.list_datasets()) or 'none'})"
        )
    dataset = fo.Dataset(name)
    dataset.persistent = True
    return dataset
