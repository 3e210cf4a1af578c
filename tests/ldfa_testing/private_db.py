"""A private, throwaway FiftyOne database for a test session or a benchmark run.

FiftyOne, left to itself, attaches to any FiftyOne database service already running on the
machine (whatever its folder), so a test run would write into a user's database. Here the test
process starts its own ``mongod`` (the one FiftyOne ships) on a free loopback port with its own
folder, and points FiftyOne at it with ``FIFTYONE_DATABASE_URI`` (inherited by the commands the
process starts) and, when fiftyone is already imported, its config: FiftyOne then connects to
that server only and starts or attaches to nothing. Call ``use_private_database`` before
anything touches the database; at exit the server is stopped and its folder deleted.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def use_private_database(prefix: str) -> Path:
    """Start a private mongod, point FiftyOne at it; returns the session's temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    (folder / "db").mkdir()
    port = _free_port()
    server = subprocess.Popen(
        [str(_mongod()), "--dbpath", str(folder / "db"), "--port", str(port), "--bind_ip",
         "127.0.0.1", "--nounixsocket", "--logpath", str(folder / "mongod.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(_remove, folder, server)
    _wait_for(port, server, folder / "mongod.log")
    os.environ["FIFTYONE_DATABASE_URI"] = f"mongodb://127.0.0.1:{port}"
    os.environ["FIFTYONE_DATABASE_NAME"] = f"{prefix}-{uuid.uuid4().hex[:8]}"
    os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    if "fiftyone" in sys.modules:  # imported already: it read its config then; it connects later
        import fiftyone as fo

        fo.config.database_uri = os.environ["FIFTYONE_DATABASE_URI"]
        fo.config.database_name = os.environ["FIFTYONE_DATABASE_NAME"]
        fo.config.database_validation = False
    return folder


def _mongod() -> Path:
    """FiftyOne's own mongod, found without importing fiftyone (which reads its config)."""
    package = Path(importlib.util.find_spec("fiftyone").origin).parent
    return package / "db" / "bin" / "mongod"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, server: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the private mongod exited ({server.returncode}); see {log}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the private mongod did not open port {port} in {timeout:.0f} s; see {log}")


def _remove(folder: Path, server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    shutil.rmtree(folder, ignore_errors=True)
