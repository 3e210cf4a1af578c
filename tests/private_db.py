"""A private, throwaway FiftyOne database for a test session or a benchmark run.

FiftyOne reads its database location when it is first imported, so call
``use_private_database`` before anything imports fiftyone. At exit, this process's mongod (found
by its --dbpath) is stopped before its folder is deleted; registering the handler before
fiftyone is imported makes it run after FiftyOne's own exit handlers.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path


def use_private_database(prefix: str) -> Path:
    """Point FiftyOne at a fresh database under a new temporary folder; returns that folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    os.environ["FIFTYONE_DATABASE_DIR"] = str(folder / "db")
    os.environ["FIFTYONE_DATABASE_NAME"] = f"{prefix}-{uuid.uuid4().hex[:8]}"
    os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    atexit.register(_remove, folder)
    return folder


def _remove(folder: Path) -> None:
    import psutil

    db = str(folder / "db")
    mongods = [p for p in psutil.process_iter(["cmdline"]) if db in (p.info["cmdline"] or [])]
    for proc in mongods:
        proc.terminate()
    psutil.wait_procs(mongods, timeout=20)
    shutil.rmtree(folder, ignore_errors=True)
