"""Atomic file writes: a file appears whole or not at all, readable like any file the user writes.

Every file ldfa writes (anonymized images, exported copies, manifests, reports, converted
weights) goes through ``atomic_write``: the bytes go to a hidden temporary file beside the
target, reach the disk, get the permissions a plain ``open()`` would give under the process
umask (``mkstemp`` makes 0600 files, which lock the rest of a team out of a shared dataset),
and are renamed over the target. A killed run leaves at worst a hidden temporary file, never a
half-written one under the real name, and the next write of that target (the rerun, or Ray's
retry of a killed worker's batch) removes it. ``sha256_of`` names a file's content, for checking
copies and downloads.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import tempfile
from pathlib import Path


def umask() -> int:
    """The process umask, read without changing it (Linux), else by setting and restoring it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike, mode: str = "wb"):
    """Open a temporary file for writing; on a clean exit it replaces ``target`` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, target)
        _remove_leftovers(target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_copy(source: str | os.PathLike, target: str | os.PathLike, link: bool = False) -> None:
    """``target`` becomes a copy of ``source`` (or, with ``link`` where the filesystem allows, a
    hard link to it: the same file, its mode included), atomically."""
    target = Path(target)
    if link:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{os.getpid()}.link"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        try:
            os.link(source, tmp)
            os.replace(tmp, target)
            _remove_leftovers(target)
            return
        except OSError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    with open(source, "rb") as src, atomic_write(target) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _remove_leftovers(target: Path) -> None:
    """The temporary files of earlier writes of ``target`` that were killed before their rename."""
    name = glob.escape(target.name)
    for pattern in (f".{name}.*.tmp", f".{name}.*.link"):
        for leftover in target.parent.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
