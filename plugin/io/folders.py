"""Building and extending datasets from folder trees of images (``ldfa detect --images``, the demo)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import fiftyone as fo

from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.images import is_image_name
from ldfa.plugin.runs import anonymized_fields, run_config
from ldfa.plugin.schema import ANONYMIZE, run_key


@dataclass(frozen=True)
class ImageFolder:
    """A folder's image files (sorted) and its count of other files, as ``scan_image_folder`` found them."""

    folder: Path
    images: list[Path]
    others: int


def scan_image_folder(folder: str | Path) -> ImageFolder:
    """The image files below ``folder``, checked before any dataset is made for them.

    Files are chosen by their image extension, so a corrupt ``.jpg`` is kept (and recorded as a
    failure when read) while annotation files and other non-images are counted. Paths stay below
    ``folder`` as given: a symlink is read through, but it does not move the tree the anonymized
    copies mirror. A folder without any image file is an error, like a missing one.
    """
    folder = Path(os.path.abspath(Path(folder).expanduser()))
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    images, others = [], 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if is_image_name(path.name):
            images.append(path)
        else:
            others += 1
    if not images:
        raise ConfigError(f"{folder} holds no image files ({others} other files); "
                          "image files end in .jpg, .png, .tif and the like")
    return ImageFolder(folder, images, others)


def add_image_folder(dataset: fo.Dataset, folder: str | Path | ImageFolder) -> dict:
    """Add every image file below ``folder`` (or of a scanned one) that ``dataset`` does not hold
    yet, except its own anonymized copies: an output folder may lie below ``folder``, and its
    images are results, never sources to anonymize again."""
    found = folder if isinstance(folder, ImageFolder) else scan_image_folder(folder)
    existing = set(dataset.values("filepath"))
    outputs = _output_folders(dataset)
    new = [p for p in found.images if str(p) not in existing]
    added = [fo.Sample(filepath=str(p)) for p in new if not any(p.is_relative_to(o) for o in outputs)]
    if added:
        dataset.add_samples(added, progress=False)
    return {"added": len(added), "already_present": len(existing), "not_images": found.others,
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
    the command fails or is interrupted, so a failed command never leaves a dataset behind."""
    created = create and not fo.dataset_exists(name)
    dataset = open_dataset(name, create)
    try:
        yield dataset
    except BaseException:
        if created and not dataset.deleted:
            dataset.delete()
        raise
