"""Quiet by default: third-party log lines stay off the terminal unless asked for.

Python libraries log through ``logging`` and are quieted there (``third_party_output``, the
CLI's setting for one command). Native code that writes to file descriptor 2 itself, such as
LiteRT's "Created TensorFlow Lite XNNPACK delegate for CPU." when an interpreter is built,
cannot be reached from Python: it runs inside ``native_output_quiet``. ``LDFA_VERBOSE=1`` (what
``ldfa --verbose`` sets) lets both through.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

VERBOSE_ENV = "LDFA_VERBOSE"


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


@contextlib.contextmanager
def third_party_output(show: bool):
    """Run one command with third-party log lines below warnings shown (``show``) or dropped."""
    before = os.environ.get(VERBOSE_ENV)
    if show:
        os.environ[VERBOSE_ENV] = "1"
    quiet = not verbose()
    if quiet:
        logging.disable(logging.INFO)
    try:
        yield
    finally:
        if quiet:
            logging.disable(logging.NOTSET)
        if before is None:
            os.environ.pop(VERBOSE_ENV, None)
        else:
            os.environ[VERBOSE_ENV] = before


@contextlib.contextmanager
def native_output_quiet():
    """Point file descriptor 2 at /dev/null around native code that logs there (unless verbose)."""
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
