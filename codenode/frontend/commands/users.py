"""`codenode` commands: users (being built)."""

import argparse


def main(args: argparse.Namespace) -> None:
    raise SystemExit("not built yet")
