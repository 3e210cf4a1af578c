"""Export of an anonymized field in the source dataset's own format and folder tree.

Every file of the source tree comes back under the same relative path: each imported image as
its anonymized version, everything else (annotations, label PNGs, extras) copied byte for byte
or hard-linked; only photos that were never anonymized (not in the dataset) are left out, and
the manifest lists them with the reason. Files are written one at a time, atomically, so
memory stays flat and a rerun resumes; the manifest next to the tree lists what was written
for ``verify-export``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import fiftyone as fo

from ldfa.converters import manifest, tree
from ldfa.converters.safety import check_output
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.freshness import stale_samples
from ldfa.plugin.geometry.boxes import to_pixels
from ldfa.plugin.io.images import display_size
from ldfa.plugin.io.output import copy_atomic
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
    check_output(root, output, resumable, overwrite)
    if overwrite and not resumable and output.exists():
        shutil.rmtree(output)
    claim = {"format": info["format"], "source_root": str(root), "field": field,
             "complete": False, "files": {}, "skipped": []}
    output.mkdir(parents=True, exist_ok=True)
    manifest.write(output, claim)
    return claim


def refuse_stale(dataset: fo.Dataset, field: str, run: dict) -> None:
    """An image whose faces changed after it was written may show a face in the clear: say how
    many there are and the command that redoes them, before anything is written."""
    stale = stale_samples(dataset, field, run["faces_field"])
    if stale:
        raise ConfigError(
            f"{len(stale)} image(s) of '{field}' are stale (their faces changed after they were "
            f"written); redo them with `ldfa anonymize --dataset {dataset.name} --method {run['method']} "
            f"--field {field} --output-dir {run['output_dir']}`, then export")


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
    """
    output = Path(output).expanduser().resolve()
    run = run_config(dataset, run_key(ANONYMIZE, field))
    if run is None:
        raise ConfigError(f"field '{field}' holds no ldfa anonymization; run `ldfa anonymize` first")
    refuse_stale(dataset, field, run)
    claim = prepare(dataset, field, output, overwrite)
    faces_field = run["faces_field"]
    claim.update(method=run["method"], faces_field=faces_field,
                 mask={"grow": run["config"]["mask_grow"], "ellipse": run["config"]["mask_ellipse"],
                       "fade_px": run["config"]["mask_blur_px"]})
    info, root = source_of(dataset), Path(claim["source_root"])
    relpaths, anonymized, boxes = dataset.values(
        ["relpath", field, f"{faces_field}.detections.bounding_box"])
    images = {r: (a, b or []) for r, a, b in zip(relpaths, anonymized, boxes)}
    counts = {"anonymized": 0, "without_faces": 0, "copied": 0}
    with Progress(len(images), f"Exporting {info['format']}", progress) as bar:
        for rel in tree.files_of(root):
            kind, reason = _export_one(rel, root, output, images, info["format"], field, link)
            if kind is None:
                claim["skipped"].append({"file": rel, "reason": reason})
                continue
            if kind == "anonymized":
                bar.update()
                faces = images[rel][1]
                claim["files"][rel] = {"kind": kind, "faces": faces}
                counts["anonymized" if faces else "without_faces"] += 1
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
    is left out: a photo the dataset does not hold (never anonymized), an imported image with
    no anonymized version, or a symlink leading outside the tree."""
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
    if tree.is_photo(rel, fmt):
        return None, ("a photo that is not in the dataset, so never anonymized: left out "
                      "(import it to anonymize it)")
    if not (target.exists() and target.stat().st_size == source.stat().st_size):
        copy_atomic(str(source), target, link=link)
    return "copy", None


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
