"""``verify_export``: prove that an export is the source dataset with only face pixels changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ldfa.converters import manifest
from ldfa.converters.cityscapes import source_files
from ldfa.plugin.masks import union_mask
from ldfa.plugin.output import to_stored_orientation
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.weights import sha256_of

LOSSLESS = {"PNG", "BMP", "TIFF", "PPM"}
# Re-encoding a JPEG at quality 95 moves pixels by about one grey level; more means real edits.
MAX_LOSSY_MEAN_DIFF = 3.0


def verify_export(source: str | Path, export: str | Path, progress: ProgressArg = True) -> dict:
    """Compare ``export`` with ``source`` using the manifest written next to the export.

    Checks: the export holds exactly the listed files; copies have the source's SHA-256;
    anonymized images keep name, size and mode, and no pixel outside the face masks changed
    (``changed_outside_masks`` is the largest share over images; it must be 0 for lossless
    formats). For Cityscapes, every source file must be in the export or listed as skipped.
    """
    source, export = Path(source).expanduser().resolve(), Path(export).expanduser().resolve()
    claim = manifest.read(export)
    if claim is None:
        return _result([f"no manifest {manifest.manifest_path(export)}: not an ldfa export"], {})
    problems = []
    if Path(claim["source_root"]) != source:
        problems.append(f"the export was made from {claim['source_root']}, not {source}")
    if not claim.get("complete"):
        problems.append("the export is incomplete (interrupted): rerun the export to finish it")
    listed = claim["files"]
    present = set(source_files(export))
    problems += [f"missing from the export: {rel}" for rel in sorted(set(listed) - present)]
    problems += [f"not in the source: {rel}" for rel in sorted(present - set(listed))]
    if claim["format"] == "cityscapes":
        skipped = {s["file"] for s in claim["skipped"]}
        problems += [f"source file not exported: {rel}" for rel in source_files(source)
                     if rel not in listed and rel not in skipped]
    stats = {"files": len(listed), "identical_copies": 0, "anonymized_images": 0,
             "changed_outside_masks": 0.0, "skipped": len(claim["skipped"])}
    with Progress(len(listed), "Verifying export", progress) as bar:
        for rel, entry in listed.items():
            bar.update()
            if rel not in present or entry["kind"] == "added":
                continue
            if entry["kind"] == "copy":
                if sha256_of(source / rel) == sha256_of(export / rel):
                    stats["identical_copies"] += 1
                else:
                    problems.append(f"annotation/extra file differs from the source: {rel}")
                continue
            stats["anonymized_images"] += 1
            share, problem = _outside_masks(source / rel, export / rel, entry["faces"], claim["mask"])
            stats["changed_outside_masks"] = max(stats["changed_outside_masks"], share)
            if problem:
                problems.append(f"{rel}: {problem}")
    return _result(problems, stats)


def _outside_masks(original: Path, anonymized: Path, faces, mask: dict) -> tuple[float, str | None]:
    """Share of pixels outside the face masks that differ, and what is wrong, if anything."""
    with Image.open(original) as a, Image.open(anonymized) as b:
        if (a.size, a.mode, a.format) != (b.size, b.mode, b.format):
            return 1.0, f"size/mode/format {b.size} {b.mode} {b.format} != source {a.size} {a.mode} {a.format}"
        orientation = int(a.getexif().get(0x0112, 1) or 1)
        width, height = (a.height, a.width) if orientation in (5, 6, 7, 8) else a.size
        inside = to_stored_orientation(
            union_mask(width, height, faces, mask["grow"], mask["ellipse"], mask.get("fade_px", 0)),
            orientation)
        pa, pb = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        diff = np.abs(pa - pb)
        if diff.ndim == 3:
            diff = diff.max(axis=-1)
        outside = ~inside
        if not outside.any():
            return 0.0, None
        share = float((diff[outside] > 0).mean())
        if share > 0 and a.format in LOSSLESS:
            return share, f"{share:.4%} of the pixels outside the face masks changed (lossless format: must be 0)"
        if diff[outside].mean() > MAX_LOSSY_MEAN_DIFF:
            return share, f"pixels outside the face masks moved by {diff[outside].mean():.1f} on average (more than re-encoding)"
    return share, None


def _result(problems: list[str], stats: dict) -> dict:
    return {"ok": not problems, **stats, "problems": problems}
