"""A plain folder of images as a source format, so that one command anonymizes it like a dataset.

Every image file below the root is a photo to anonymize (chosen by extension, like
``add_image_folder``); everything else comes back in the export byte for byte. The folder is
walked as the export walks it (``tree.files_of``), so both see the same files.
"""

from __future__ import annotations

from pathlib import Path

import fiftyone as fo

from ldfa.converters import tree
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.io.images import is_image_name
from ldfa.plugin.progress import Progress, ProgressArg


def import_folder(root: str | Path, dataset: fo.Dataset, progress: ProgressArg = True) -> dict:
    """Add every image below ``root`` that ``dataset`` does not hold yet, with its ``relpath``.

    A folder without any image file is an error; a symlink leading outside the root is
    reported and skipped (the export leaves it out too)."""
    root = Path(root).expanduser().resolve()
    files = list(tree.files_of(root))
    images = [rel for rel in files if is_image_name(rel)]
    if not images:
        raise ConfigError(f"{root} holds no image files ({len(files)} other files); "
                          "image files end in .jpg, .png, .tif and the like")
    existing = set(dataset.values("relpath")) if dataset.has_field("relpath") else set()
    samples, problems = [], []
    with Progress(len(images), "Importing folder", progress) as bar:
        for rel in images:
            bar.update()
            if rel in existing:
                continue
            if not (root / rel).resolve().is_relative_to(root):
                problems.append({"file": rel, "error": "symlink leading outside the root: skipped"})
                continue
            samples.append(fo.Sample(filepath=str(root / rel), relpath=rel))
    dataset.add_samples(samples, progress=False)
    dataset.info["ldfa_source"] = {"format": "folder", "root": str(root), "people_fields": []}
    dataset.save()
    return {"images": len(samples), "not_images": len(files) - len(images), "problems": problems}
