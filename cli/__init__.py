"""The ``ldfa`` command line: one subcommand a module, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import sys

from ldfa.cli import anonymize, convert, demo, detect, evaluate, plugin, report

COMMANDS = [demo, detect, anonymize, evaluate, report, convert, plugin]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ldfa",
        description="Anonymize faces in image datasets with latent diffusion (LDFA), "
        "measure the result, export it in the source format.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ldfa.plugin.errors import LdfaError

    try:
        return args.run(args) or 0
    except LdfaError as e:
        print(f"ldfa: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ldfa: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
