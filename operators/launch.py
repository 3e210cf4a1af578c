"""The App on an audit, owned by the process that opens it: its server stops when that process ends.

FiftyOne runs the App server in a service process that watches its launcher through a pipe and
stops the server once that pipe closes, however the launcher died (SIGKILL included). Left to
itself, though, a launcher closes its session only in the interpreter's last garbage collection
(not at all on SIGTERM), so the server outlived ``fo.launch_app`` scripts by 3 to 5 s after
SIGTERM, Ctrl-C or SIGKILL, and by 40 s after Ctrl-C when an ``atexit`` handler had already
stopped the database the server was using. Here the launcher closes the session itself on
leaving, Ctrl-C, SIGTERM and SIGHUP, and waits for the server (FiftyOne's graceful shutdown
takes 5 to 15 s): by the time it returns or exits, the server has stopped and its port is free.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ldfa.operators.layout import audit_spaces
from ldfa.plugin.errors import ConfigError

if TYPE_CHECKING:
    import fiftyone as fo

# Python ends the process on these at once, running no cleanup: they exit through `finally` instead.
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def launch_audit(dataset, port: int | None = None, address: str | None = None,
                 announce: Callable[[str], None] | None = None, **options) -> None:
    """Show ``dataset`` (an audit from ``open_audit``, or any dataset) in the App beside the audit
    panel and serve it until Ctrl-C; returns once the App server has stopped.

    ``announce(url)`` tells the user where the App is (default: print it, with how to stop it).
    ``port`` and ``address`` default to FiftyOne's (``fo.config.default_app_port``, 5151); the
    other ``options`` go to ``fo.launch_app`` (``remote``, ``auto``, ...).
    """
    with audit_session(dataset, port, address, **options) as session, contextlib.suppress(KeyboardInterrupt):
        (announce or _print_address)(session.url)
        session.wait(-1)


@contextlib.contextmanager
def audit_session(dataset, port: int | None = None, address: str | None = None,
                  **options) -> Iterator[fo.Session]:
    """A session of the App showing ``dataset`` beside the audit panel, served on a port no other
    App holds (attached to another process's server, it would not stop with this one); closed on
    leaving, SIGTERM and SIGHUP included (they then end the process)."""
    import fiftyone as fo

    port = port or fo.config.default_app_port
    address = address or fo.config.default_app_address
    _check_free(address, port)
    with _ending_signals_exit():
        session = fo.launch_app(dataset, spaces=audit_spaces(), port=port, address=address, **options)
        try:
            yield session
        finally:
            print("stopping the App server", file=sys.stderr, flush=True)
            session.close()  # stops the server and waits for it: seconds
            print("App stopped", file=sys.stderr, flush=True)


def _print_address(url: str) -> None:
    print(f"App: {url}\n  (Ctrl-C to stop)", flush=True)


def _check_free(address: str, port: int) -> None:
    with socket.socket() as s:
        s.settimeout(2)
        taken = s.connect_ex((address, port)) == 0
    if taken:
        raise ConfigError(f"port {port} on {address} is taken (an App of another process?): "
                          "choose another port (--port, port=) or stop what serves it")


@contextlib.contextmanager
def _ending_signals_exit() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SystemExit while inside, as Ctrl-C raises KeyboardInterrupt.

    Only the main thread may set handlers; elsewhere the signals stay as they are.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum, frame):
        raise SystemExit(128 + signum)

    previous = {number: signal.signal(number, leave) for number in ENDING_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
