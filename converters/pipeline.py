"""``anonymize_dataset`` (`ldfa run`): import, detect, anonymize, export and verify in one resumable command."""

from __future__ import annotations

from pathlib import Path

import fiftyone as fo

from ldfa.converters.cityscapes import import_cityscapes
from ldfa.converters.coco import import_coco
from ldfa.converters.export import export_anonymized, prepare
from ldfa.converters.verify import verify_export
from ldfa.plugin.anonymize import anonymize_faces, source_root
from ldfa.plugin.detect import detect_faces
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.progress import ProgressArg


def import_dataset(fmt: str, source: str | Path, dataset: fo.Dataset, annotations: str | None = None,
                   images: str | None = None, progress: ProgressArg = True) -> dict:
    """Import a Cityscapes root, or a COCO folder (``images`` dir + ``annotations`` JSON)."""
    if fmt == "cityscapes":
        return import_cityscapes(source, dataset, progress=progress)
    if fmt == "coco":
        if not annotations:
            raise ConfigError("COCO needs --annotations FILE (the instances JSON)")
        return import_coco(images or source, annotations, dataset, progress=progress)
    raise ConfigError(f"unknown format {fmt!r}; choose cityscapes or coco")


def anonymize_dataset(fmt: str, source: str | Path, output: str | Path, method: str = "ldfa",
                      dataset_name: str | None = None, annotations: str | None = None,
                      images: str | None = None, detector: str | None = None,
                      use_people: bool = True, overwrite: bool = False,
                      progress: ProgressArg = True, **params) -> dict:
    """The whole job on a dataset folder; a rerun after an interruption picks up where it stopped.

    With ``use_people`` (the default), face detection also looks at the head of every person
    the source's annotations mark (Cityscapes polygons and CityPersons boxes, COCO persons with
    keypoints), so a face the detector alone misses is found all the same."""
    output = Path(output).expanduser().resolve()
    name = dataset_name or f"ldfa-{fmt}-{Path(source).resolve().name}"
    dataset = fo.load_dataset(name) if fo.dataset_exists(name) else fo.Dataset(name, persistent=True)
    imported = import_dataset(fmt, source, dataset, annotations, images, progress)
    undetected = dataset.exists("faces", False)
    people = dataset.info["ldfa_source"].get("people_fields") if use_people else None
    detected = detect_faces(undetected, **({"detector": detector} if detector else {}),
                            people_field=people, progress=progress).to_dict() if len(undetected) else None
    field = f"anon_{method}"
    root = Path(dataset.info["ldfa_source"]["root"])
    prepare(dataset, field, output, overwrite)  # refuse unsafe outputs before writing any image
    anonymized = anonymize_faces(
        dataset, method=method, out_field=field, progress=progress, overwrite=overwrite,
        output_dir=output / source_root(dataset).relative_to(root), **params)
    exported = export_anonymized(dataset, field, output, progress=progress)
    verified = verify_export(root, output, progress=progress)
    return {"dataset": name, "imported": imported, "detected": detected,
            "anonymized": anonymized.to_dict(), "exported": exported, "verified": verified}
