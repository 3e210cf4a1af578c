"""``verify_export``: prove that an export is the source dataset with only face pixels changed.

Each check reports its figure beside the rule it must meet, so a reader sees what "ok" means:
every source file is in the export or listed as left out (with why); nothing else is there;
every copy is byte for byte the source's; every anonymized image keeps name, size, mode and
format, and no pixel outside the face masks (face boxes and their blend rings) changed: none
at all in a lossless format, at most ``MAX_LOSSY_MEAN_DIFF`` grey levels on average in a JPEG
re-encoded at quality 95; and no anonymized image carries an image of its original in its
metadata (an EXIF thumbnail, a preview, MPF images) or the XMP face regions that locate people.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ldfa.converters import manifest, tree
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.geometry.masks import union_mask
from ldfa.plugin.io.atomic import sha256_of
from ldfa.plugin.io.images import orientation_of, shown_size
from ldfa.plugin.io.metadata import embedded_images
from ldfa.plugin.io.output import to_stored_orientation
from ldfa.plugin.progress import Progress, ProgressArg

LOSSLESS = {"PNG", "BMP", "TIFF", "PPM"}
# Re-encoding a JPEG at quality 95 moves pixels by about one grey level; more means real edits.
MAX_LOSSY_MEAN_DIFF = 3.0


def verify_export(source: str | Path, export: str | Path, progress: ProgressArg = True) -> dict:
    """Compare ``export`` with ``source`` using the manifest written next to the export.

    Returns ``ok``, the ``checks`` (each with its ``value``, ``rule`` and ``ok``), counts and
    the ``problems`` found, one line each."""
    source, export = (Path(p).expanduser().resolve() for p in (source, export))
    for name, folder in (("source", source), ("export", export)):
        if not folder.is_dir():
            raise ConfigError(f"{name} {folder} is not a folder")
    claim = manifest.read(export)
    if claim is None:
        raise ConfigError(f"{export} has no manifest {manifest.manifest_path(export).name} beside "
                          "it: not an ldfa export (make one with `ldfa export` or `ldfa run`)")
    problems = []
    if Path(claim["source_root"]) != source:
        problems.append(f"the export was made from {claim['source_root']}, not from {source}")
    if not claim.get("complete"):
        problems.append("the export is incomplete (interrupted): rerun the export to finish it")
    listed, skipped = claim["files"], {s["file"]: s["reason"] for s in claim["skipped"]}
    present = set(tree.files_of(export))
    missing = [rel for rel in tree.files_of(source) if rel not in listed and rel not in skipped]
    problems += [f"source file neither exported nor listed as left out: {rel}" for rel in missing]
    problems += [f"missing from the export: {rel}" for rel in sorted(set(listed) - present)]
    problems += [f"not in the manifest: {rel}" for rel in sorted(present - set(listed))]
    copies = [rel for rel, e in listed.items() if e["kind"] == "copy" and rel in present]
    images = [rel for rel, e in listed.items() if e["kind"] == "anonymized" and rel in present]
    same = bad_images = 0
    hidden = {"anonymized": [], "unchanged": []}  # files with images in their metadata
    worst_share = worst_mean = 0.0
    with Progress(len(copies) + len(images), "Verifying export", progress) as bar:
        for rel in copies:
            bar.update()
            if (source / rel).is_file() and sha256_of(source / rel) == sha256_of(export / rel):
                same += 1
            else:
                problems.append(f"copy differs from the source: {rel}")
            if embedded_images(export / rel):
                hidden["unchanged"].append(rel)
        for rel in images:
            bar.update()
            share, mean, problem = _outside_masks(source / rel, export / rel, listed[rel]["faces"],
                                                  claim["mask"])
            worst_share, worst_mean = max(worst_share, share), max(worst_mean, mean)
            if problem:
                bad_images += 1
                problems.append(f"{rel}: {problem}")
            found = embedded_images(export / rel)
            if found and listed[rel]["faces"]:
                hidden["anonymized"].append(rel)
                problems.append(f"{rel}: anonymized, yet its metadata carries {'; '.join(found)}")
            elif found:  # no faces: copied from the source as it is
                hidden["unchanged"].append(rel)
    checks = [
        _check("every source file exported or listed as left out", len(missing) == 0,
               f"{len(listed)} exported, {len(skipped)} left out, {len(missing)} unaccounted",
               "0 unaccounted"),
        _check("copies identical to the source", same == len(copies), f"{same}/{len(copies)}",
               "all, byte for byte (SHA-256)"),
        _check("images changed only inside the face masks", bad_images == 0,
               f"largest share {worst_share:.4%}, largest mean change {worst_mean:.2f} grey levels",
               f"lossless images: 0 %; JPEG: mean change <= {MAX_LOSSY_MEAN_DIFF:g} (re-encoding)"),
        _check("no images hidden in anonymized images' metadata", not hidden["anonymized"],
               f"{len(hidden['anonymized'])} anonymized image(s) carry one; "
               f"{len(hidden['unchanged'])} file(s) copied unchanged do",
               "anonymized images: none (EXIF thumbnail, previews, MPF images, XMP face regions); "
               "files copied unchanged: reported only"),
    ]
    faces = sum(bool(listed[rel]["faces"]) for rel in images)
    return {"ok": not problems, "checks": checks, "files": len(listed), "left_out": len(skipped),
            "identical_copies": same, "anonymized_images": faces,
            "images_without_faces": len(images) - faces, "changed_outside_masks": worst_share,
            "embedded_images": hidden,
            "problems": problems}


def _check(name: str, ok: bool, value: str, rule: str) -> dict:
    return {"check": name, "ok": ok, "value": value, "rule": rule}


def _outside_masks(original: Path, anonymized: Path, faces, mask: dict) -> tuple[float, float, str | None]:
    """Share of pixels outside the face masks that differ, their mean change, and what is
    wrong, if anything."""
    if not original.is_file():
        return 1.0, 255.0, "its source image is missing"
    with Image.open(original) as a, Image.open(anonymized) as b:
        if (a.size, a.mode, a.format) != (b.size, b.mode, b.format):
            return 1.0, 255.0, (f"size/mode/format {b.size} {b.mode} {b.format} != source "
                                f"{a.size} {a.mode} {a.format}")
        inside = to_stored_orientation(
            union_mask(*shown_size(a), faces, mask["grow"], mask["ellipse"], mask.get("fade_px", 0)),
            orientation_of(a))
        diff = np.abs(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64))
        if diff.ndim == 3:
            diff = diff.max(axis=-1)
        outside = diff[~inside]
        if not outside.size:
            return 0.0, 0.0, None
        share, mean = float((outside > 0).mean()), float(outside.mean())
        if share > 0 and a.format in LOSSLESS:
            return share, mean, f"{share:.4%} of the pixels outside the face masks changed (lossless: must be 0)"
        if mean > MAX_LOSSY_MEAN_DIFF:
            return share, mean, (f"pixels outside the face masks moved by {mean:.1f} on average "
                                 f"(more than re-encoding's {MAX_LOSSY_MEAN_DIFF:g})")
    return share, mean, None
