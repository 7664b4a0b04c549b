"""The engine's command line, shared by a started engine and a template's forked ones.

``--fd N`` serves one engine on socket N. ``--template-fd N`` makes the process a template
instead (see template.py): it forks engines that run exactly what ``--fd`` would have run, with
the same ``--startup``, ``--transform`` and ``--interpreter`` (an Interpreter subclass to run
cells with instead of the seed's: codenode.engine.ipython's, for the ``ipython`` type). The
options are read by hand rather than with argparse, which would add ~10 ms to every engine's
start.
"""

from __future__ import annotations

import os

# The C module, not socket.py: that one costs ~3 ms of every engine's start (enum, selectors).
from _socket import socket

from codenode.engine.output import DEFAULT_OUTPUT_LIMIT
from codenode.engine.server import EngineServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

USAGE = (
    "usage: python -m codenode.engine --fd N [--output-limit CHARS] [--startup CODE]"
    " [--transform MODULE:FUNCTION] [--interpreter MODULE:CLASS]\n"
    "       python -m codenode.engine --template-fd N [--preload MODULE,MODULE] [same options]\n"
)
TEXTS = ("startup", "transform", "preload", "interpreter")  # the other options are whole numbers


def parse(argv: List[str]) -> Dict[str, Any]:
    """The options as a dict; SystemExit with the usage for anything else."""
    # A backend passes the output limit in the environment, which every engine type may ignore.
    limit = os.environ.get("CODENODE_OUTPUT_LIMIT", "")
    options: Dict[str, Any] = {
        "fd": -1,
        "template-fd": -1,
        "output-limit": int(limit) if limit.isdigit() else DEFAULT_OUTPUT_LIMIT,
        "startup": "",
        "transform": "",
        "preload": "",
        "interpreter": "",
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
    if (options["fd"] < 0) == (options["template-fd"] < 0):
        raise SystemExit(
            USAGE + "an engine is started by a backend, which hands it a socket as --fd"
            " (or a control socket as --template-fd)"
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


def load_interpreter(spec: str) -> Optional[type]:
    """The Interpreter subclass named MODULE:CLASS (IPython's, say), or None for the seed's."""
    if not spec:
        return None
    import importlib

    module_name, _, class_name = spec.partition(":")
    found: type = getattr(importlib.import_module(module_name), class_name)
    return found


def startup_namespace(options: Dict[str, Any]) -> Dict[str, Any]:
    """A fresh namespace for the user's code, with the type's startup code run in it."""
    import builtins

    namespace: Dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    if options["startup"]:
        # Run before ready, so that what it imports is loaded when the first cell comes.
        exec(options["startup"], namespace)
    return namespace


def serve_engine(
    fd: int, options: Dict[str, Any], namespace: Optional[Dict[str, Any]] = None
) -> None:
    """Serve one Interpreter on socket fd until shutdown or until the backend closes it.

    namespace: one made by startup_namespace already (a template's spare makes it ahead).
    """
    if namespace is None:
        namespace = startup_namespace(options)
    server = EngineServer(
        socket(fileno=fd),
        options["output-limit"],
        namespace,
        load_interpreter(options["interpreter"]),
    )
    server.interpreter.transform = load_transform(options["transform"])
    server.serve()
