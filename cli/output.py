"""The command line's one rule for output: results on stdout, everything else on stderr.

While a command runs, ``main`` points stdout at stderr, so FiftyOne's log lines ("Computing
metadata..."), progress bars and any library's prints never mix with results. A command hands
its result to ``emit``, which writes to the real stdout: readable text, or with ``--json`` one
JSON document and nothing else, so ``ldfa ... --json | jq`` always works.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys

_results = [sys.stdout]


@contextlib.contextmanager
def results_only_on_stdout():
    """Run a command with results on the current stdout and all other output on stderr."""
    _results.append(sys.stdout)
    moved = []
    for name in ("fiftyone", "eta"):  # FiftyOne logs to stdout by default
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is not sys.stderr:
                moved.append((handler, handler.setStream(sys.stderr)))
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for handler, stream in moved:
            handler.setStream(stream)
        _results.pop()


def emit(result, as_json: bool, text: str | None = None) -> None:
    """Write a command's result: ``result`` as JSON with ``--json``, else ``text`` (or, without
    it, one ``key: value`` line per item of ``result``)."""
    if as_json:
        out = json.dumps(result, indent=2, default=str)
    elif text is not None:
        out = text
    else:
        out = "\n".join(f"{k}: {json.dumps(v, default=str) if isinstance(v, (dict, list)) else v}"
                        for k, v in result.items())
    print(out, file=_results[-1], flush=True)
