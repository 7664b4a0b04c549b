"""IPython: the Codenode engine with IPython's own shell running each cell, so that magics
(`%time`, `%pip`), `!shell` commands, `;` to hide a value, `display()` and IPython's tracebacks
work as in Jupyter; engines fork from a warm template in milliseconds, as `python`'s do.

It needs IPython where the backend runs (`pip install 'codenode[ipython]'`; `make run` has it):
until then the type is listed unavailable, with the reason. The seed's `python` type is not
changed by it. See docs/engine.md ("The ipython engine type").
"""

import importlib.util
import sys
from pathlib import Path

import codenode
from codenode.backend.enginetype import EngineType, Limits

# Engines start with a clean environment: tell the engine's Python where codenode is.
CODENODE_PATH = str(Path(codenode.__file__).resolve().parent.parent)

PRELOAD = ["numpy", "matplotlib"]

ipython = EngineType(
    name="ipython",
    description=f"IPython on Python {sys.version_info.major}.{sys.version_info.minor}: magics,"
    " !shell, display()",
    bin=sys.executable,
    args=["-m", "codenode.engine", "--interpreter", "codenode.engine.ipython:IPythonInterpreter"],
    # IPython keeps its profile in IPYTHONDIR; matplotlib its caches in MPLCONFIGDIR: both
    # where a sandboxed template, before any workspace is there, can write.
    env={
        "PYTHONPATH": CODENODE_PATH,
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython",
    },
    limits=Limits(
        memory_mb=4096, cpu_seconds=None, processes=256, open_files=1024, workspace_mb=10240
    ),
    requires=["codenode.engine", "IPython"],
    templated=True,
    preload=[name for name in PRELOAD if importlib.util.find_spec(name) is not None],
)
