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

USAGE = (
    "usage: python -m codenode.engine --fd N [--output-limit CHARS] [--startup CODE]"
    " [--transform MODULE:FUNCTION]\n"
)
NUMBERS = ("fd", "output-limit")
TEXTS = ("startup", "transform")

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional


def parse(argv: List[str]) -> Dict[str, Any]:
    """The options as a dict; SystemExit with the usage for anything else."""
    # A backend passes the output limit in the environment, which every engine type may ignore.
    limit = os.environ.get("CODENODE_OUTPUT_LIMIT", "")
    options: Dict[str, Any] = {
        "fd": -1,
        "output-limit": int(limit) if limit.isdigit() else DEFAULT_OUTPUT_LIMIT,
        "startup": "",
        "transform": "",
    }
    args = list(argv)
    while args:
        name = args.pop(0)
        if not name.startswith("--") or name[2:] not in options or not args:
            raise SystemExit(USAGE + "unexpected argument: %s" % name)
        value = args.pop(0)
        if name[2:] in TEXTS:
            options[name[2:]] = value
            continue
        try:
            options[name[2:]] = int(value)
        except ValueError:
            raise SystemExit(USAGE + "%s takes a whole number" % name) from None
    if options["fd"] < 0:
        raise SystemExit(
            USAGE + "an engine is started by a backend, which hands it a socket as --fd"
        )
    return options


def load_transform(spec: str) -> Optional[Callable[[str], str]]:
    """The cell transformer named MODULE:FUNCTION (Sage's preparser, say), or None."""
    if not spec:
        return None
    import importlib

    module_name, _, function_name = spec.partition(":")
    function: Callable[[str], str] = getattr(importlib.import_module(module_name), function_name)
    return function


def main(argv: List[str]) -> None:
    """Serve until shutdown or until the parent closes the socket."""
    options = parse(argv)
    sock = socket(fileno=options["fd"])
    server = EngineServer(sock, output_limit=options["output-limit"])
    server.interpreter.transform = load_transform(options["transform"])
    if options["startup"]:
        # Run before ready, so that what it imports is loaded when the first cell comes.
        exec(options["startup"], server.interpreter.namespace)
    server.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
