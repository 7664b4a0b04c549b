"""``python -m codenode.engine --fd N [--output-limit CHARS]``: serve one Interpreter.

N is a connected socket inherited from the parent (see docs/engine-protocol.md). The options
are read by hand rather than with argparse, which would add ~10 ms to every engine's start.
"""

from __future__ import annotations

import os
import sys

# The C module, not socket.py: that one costs ~3 ms of every engine's start (enum, selectors).
from _socket import socket

from codenode.engine.output import DEFAULT_OUTPUT_LIMIT
from codenode.engine.server import EngineServer

USAGE = "usage: python -m codenode.engine --fd N [--output-limit CHARS]\n"


def parse(argv: list[str]) -> dict[str, int]:
    """The options as a dict; SystemExit with the usage for anything else."""
    # A backend passes the output limit in the environment, which every engine type may ignore.
    limit = os.environ.get("CODENODE_OUTPUT_LIMIT", "")
    options = {"fd": -1, "output-limit": int(limit) if limit.isdigit() else DEFAULT_OUTPUT_LIMIT}
    args = list(argv)
    while args:
        name = args.pop(0)
        if not name.startswith("--") or name[2:] not in options or not args:
            raise SystemExit(USAGE + "unexpected argument: %s" % name)
        try:
            options[name[2:]] = int(args.pop(0))
        except ValueError:
            raise SystemExit(USAGE + "%s takes a whole number" % name) from None
    if options["fd"] < 0:
        raise SystemExit(
            USAGE + "an engine is started by a backend, which hands it a socket as --fd"
        )
    return options


def main(argv: list[str]) -> None:
    """Serve until shutdown or until the parent closes the socket."""
    options = parse(argv)
    sock = socket(fileno=options["fd"])
    EngineServer(sock, output_limit=options["output-limit"]).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
