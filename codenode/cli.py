"""The ``codenode`` command."""

from __future__ import annotations

import argparse

import codenode


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per thing Codenode does."""
    parser = argparse.ArgumentParser(prog="codenode", description=codenode.__doc__)
    parser.add_argument("--version", action="version", version=codenode.__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run",
        help="run Codenode (today: a console on a Python engine; the web UI comes later)",
    )
    commands.add_parser("console", help="a terminal console on a new Python engine process")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``codenode`` script."""
    args = build_parser().parse_args(argv)
    if args.command in ("run", "console"):
        from codenode import console

        console.main()
