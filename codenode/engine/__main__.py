"""``python -m codenode.engine --fd N [options]``: serve one Interpreter on socket N.

With ``--template-fd N`` instead, the process is a warm template that forks engines (see
template.py). Options: startup.py; the protocol: docs/engine-protocol.md.
"""

from __future__ import annotations

import sys

from codenode.engine.startup import parse, serve_engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List


def main(argv: List[str]) -> None:
    """Serve until shutdown or until the parent closes the socket."""
    options = parse(argv)
    if options["template-fd"] >= 0:
        from codenode.engine.template import serve_template

        serve_template(options)
    else:
        serve_engine(options["fd"], options)


if __name__ == "__main__":
    main(sys.argv[1:])
