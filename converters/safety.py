"""Guards that keep the source dataset read-only and the export where the user asked for it."""

from __future__ import annotations

from pathlib import Path

from ldfa.plugin.errors import ConfigError, OutputError
from ldfa.plugin.io.output import refuse_inside


def contained(root: Path, relative: str) -> Path:
    """``root / relative``, refusing absolute names, ``..`` escapes and symlinks leading outside."""
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise ConfigError(f"file name {relative!r} escapes the image root {root}; refusing it")
    path = root / relative
    if not path.resolve().is_relative_to(root.resolve()):
        raise ConfigError(f"{path} is a symlink leading outside the image root {root}; refusing it")
    return path


def check_output(source_root: Path, output: Path, resumable: bool, overwrite: bool, only=()) -> None:
    """Refuse an output inside the source tree (a source of ``only`` these root-relative files:
    inside one of them), or a non-empty one that is not ours to resume."""
    for source in [source_root / rel for rel in only] or [source_root]:
        refuse_inside(source, output)
    if output.is_dir() and any(output.iterdir()) and not (resumable or overwrite):
        raise OutputError(f"output {output} is not empty; choose an empty folder or pass --overwrite")
