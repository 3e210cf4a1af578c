"""The export manifest: a JSON file *next to* the exported tree (never inside it).

It says what the export is (format, source root, anonymized field, mask parameters; with videos,
their dataset, method and mask parameters under ``videos``; for a single-file source, ``only``
that file), lists every exported file by its name in the export as ``copy``, ``anonymized`` (an
image, with its face boxes), ``video`` (with its face boxes per frame, ``frames[i]`` the relative
[x, y, w, h] boxes of frame i + 1 up to the last frame with a face, and ``source``: the source
file's name when the anonymized video has another suffix, such as a lossless ``.mkv``) or
``added`` (files the export adds: face labels), lists the source files left out with why, and
marks the export complete. ``verify-export`` proves an export from it; a rerun of the same export
resumes from it.
"""

from __future__ import annotations

import json
from pathlib import Path

from ldfa.plugin.io.atomic import atomic_write


def manifest_path(output: Path) -> Path:
    return output.parent / f"{output.name}.ldfa-manifest.json"


def read(output: Path) -> dict | None:
    path = manifest_path(output)
    return json.loads(path.read_text()) if path.is_file() else None


def write(output: Path, manifest: dict) -> Path:
    return write_json(manifest_path(output), manifest)


def write_json(path: Path, doc: dict) -> Path:
    """Write ``doc`` as JSON atomically (``ldfa.plugin.io.atomic``)."""
    with atomic_write(path, "w") as f:
        json.dump(doc, f, indent=1)
    return path
