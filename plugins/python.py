"""The default engine type: Python, on the very interpreter that runs this backend.

A copy of this file in a backend's plug-in folder can be edited like any plug-in; see
docs/plugins.md for every attribute.
"""

import importlib.util
import sys
from pathlib import Path

import codenode
from codenode.backend.enginetype import EngineType, Limits

# Engines start with a clean environment, so tell the engine's Python where codenode is: the
# folder that holds the package this backend runs (a checkout, or site-packages).
CODENODE_PATH = str(Path(codenode.__file__).resolve().parent.parent)

# What notebooks use most, where this Python has it (an absent module is skipped).
PRELOAD = ["numpy", "matplotlib"]

python = EngineType(
    name="python",
    description=f"Python {sys.version_info.major}.{sys.version_info.minor}",
    bin=sys.executable,
    args=["-m", "codenode.engine"],
    # matplotlib keeps its caches where its template, in a sandbox, can write them.
    env={"PYTHONPATH": CODENODE_PATH, "MPLCONFIGDIR": "/tmp/matplotlib"},
    # memory_mb caps address space, not resident memory: numpy and threads reserve far more
    # than they touch, so leave room above what a cell really uses.
    # workspace_mb: each workspace (one per user) is a file system of 10 GiB at most, so that
    # no user fills the machine's disk; it costs only what it holds.
    limits=Limits(
        memory_mb=4096, cpu_seconds=None, processes=256, open_files=1024, workspace_mb=10240
    ),
    requires=["codenode.engine"],  # listed unavailable, with the reason, if PYTHONPATH is wrong
    # Engines are forked from a warm template (docs/templates.md): a start takes milliseconds,
    # so no pool of ready engines is needed. The template preloads what it finds here of
    # PRELOAD: engines import those instantly and share their memory.
    templated=True,
    preload=[name for name in PRELOAD if importlib.util.find_spec(name) is not None],
)
