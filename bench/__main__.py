"""``python -m bench [NAME ...] [--quick]``: run the benchmarks and print their tables.

Every benchmark is a module of this package with a ``run(quick: bool) -> list[Table]``
function; ``BENCHMARKS`` lists them in the order they run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bench.report import machine_header

BENCHMARKS = ["engine", "templates", "workspaces", "backend", "frontend", "edits", "ui"]


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks of Codenode against Jupyter."
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions: a rough result in less time"
    )
    options = parser.parse_args(argv)
    unknown = [name for name in options.names if name not in BENCHMARKS]
    if unknown:
        parser.error(
            f"no benchmark named {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    return options


def main(argv: Sequence[str]) -> None:
    """Run the chosen benchmarks in turn, printing each one's tables as they are done."""
    options = parse(argv)
    print(machine_header(), flush=True)
    for name in options.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        for table in module.run(quick=options.quick):
            print(table.markdown(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
