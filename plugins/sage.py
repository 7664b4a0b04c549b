"""SageMath through passagemath: Sage's library as ordinary pip packages for a Python.

The Python used: $CODENODE_SAGE_PYTHON if set, else ~/.cache/codenode/sage-venv/bin/python if it
exists, else the backend's own. To make that virtualenv:

    python3 -m venv ~/.cache/codenode/sage-venv
    ~/.cache/codenode/sage-venv/bin/pip install passagemath-repl \\
        "passagemath-symbolics[maxima]" passagemath-pari passagemath-plot

Until that Python can import Sage, the type is listed unavailable with the reason. The file is
read again when it changes: touch it after installing to have it checked again.
"""

import os
import sys
from pathlib import Path

import codenode
from codenode.backend.enginetype import EngineType, Limits

VENV_PYTHON = Path.home() / ".cache" / "codenode" / "sage-venv" / "bin" / "python"
# The engine is codenode.engine (standard library only) run by Sage's Python. Caveat: when
# codenode is installed in site-packages rather than a checkout, this puts the backend's whole
# site-packages on Sage's path; `pip install --no-deps codenode` into the Sage venv avoids that.
CODENODE_PATH = str(Path(codenode.__file__).resolve().parent.parent)


def sage_python() -> str:
    """The Python interpreter that has passagemath."""
    chosen = os.environ.get("CODENODE_SAGE_PYTHON", "")
    if chosen:
        return chosen
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


# Plotting comes with passagemath-plot, where it is installed.
STARTUP = """\
from sage.all__sagemath_symbolics import *
try:
    from sage.all__sagemath_plot import *
except ImportError:
    pass
"""

# Each engine runs STARTUP before it says ready (in a forked engine the modules are loaded
# already, so it only fills the namespace), and every cell goes through Sage's preparser, so
# Sage's own syntax works: 2^10, [1..n], R.<x> = QQ[].
sage = EngineType(
    name="sage",
    description="SageMath (passagemath): symbolic calculus, algebra, number theory",
    bin=sage_python(),
    args=[
        "-m",
        "codenode.engine",
        "--startup",
        STARTUP,
        "--transform",
        "sage.repl.preparse:preparse",
    ],
    # Sage's startup code, run ahead in a sandbox before the workspace is there, wants a
    # writable DOT_SAGE: the engine's private /tmp.
    env={"PYTHONPATH": CODENODE_PATH, "DOT_SAGE": "/tmp/.sage"},
    # Sage with Maxima and PARI loaded reaches ~2 GB of address space (~200 MB resident).
    # workspace_mb: each workspace (one per user) is a file system of 10 GiB at most, so that
    # no user fills the machine's disk; it costs only what it holds.
    limits=Limits(
        memory_mb=4096, cpu_seconds=None, processes=256, open_files=1024, workspace_mb=10240
    ),
    requires=["codenode.engine", "sage.all__sagemath_symbolics", "sage.repl.preparse"],
    start_timeout=60,  # importing Sage takes seconds: once, in the template
    # Engines are forked from a template that has imported Sage already: each starts in
    # milliseconds and shares the library's memory. Plotting too, where it is installed.
    templated=True,
    preload=["sage.all__sagemath_symbolics", "sage.all__sagemath_plot"],
)
