"""`codenode` commands: backends (being built)."""

import argparse


def main(args: argparse.Namespace) -> None:
    raise SystemExit("not built yet")
