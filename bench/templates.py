"""Engines forked from a warm template against engines started by exec, and ipykernel, in one run;
each Codenode way with its sandbox on (the default) and off (``sandbox=False``).

The engine types are the shipped declarations, plugins/python.py and plugins/sage.py, read from
their files and driven in this process by the backend's own objects, as the backend drives
them, with no HTTP in between (bench/template_measures.py). ipykernel is started and driven by
jupyter_client (bench/contenders.py). For each engine type (Python; then Sage, without
ipykernel), three tables (bench/template_tables.py):

1. start: from asking for the engine (a sandboxed one: for its workspace, a new key each time,
   made then) until the result of its first ``2+2`` is here, the engine stopped after each
   start. Every contender is started once untimed first; then the contenders take turns, in an
   order that rotates, so that noise falls on all of them;
2. idle memory (USS, RSS) of one engine after one ``2+2`` and a second of rest, summed over its
   processes (sandboxed and forked: the namespace's init, which is the pid the backend lists,
   and the engine, its child; exec'd in a sandbox, the launcher too), and of the templates;
3. capacity: a crowd of forked engines with the sandbox, and one without, really started
   (``BATCH`` at once) until each answered ``2+2``: the wall time, the sum of their USS and of
   the kernel's own memory they took (page tables, kernel stacks, slab), the time to stop them
   all; how many idle engines would fit in 8 GiB. For exec and ipykernel the crowd is
   projected from tables 1 and 2.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from bench.engine import compile_codenode
from bench.report import Table
from bench.template_measures import (
    FORKED,
    SANDBOXED,
    TEMPLATE_TIMEOUT,
    Kind,
    Scale,
    load_type,
    measure_kind,
)
from bench.template_tables import skipped, tables
from codenode.backend.enginetype import EngineType

SAGE_CHECK = "import sage.all__sagemath_symbolics"

PYTHON = Kind(
    label="Python",
    plugin="python.py",
    attribute="python",
    full=Scale(starts=100, ipykernel_starts=100, crowd=2000),
    quick=Scale(starts=20, ipykernel_starts=10, crowd=200),
    # The sandbox's issue: 10 ms and 3.5 MiB sandboxed; the template's: 5 ms and 3 MiB without.
    start_targets_ms=((SANDBOXED, 10.0), (FORKED, 5.0)),
    uss_targets_mib=((SANDBOXED, 3.5), (FORKED, 3.0)),
)
SAGE = Kind(
    label="Sage",
    plugin="sage.py",
    attribute="sage",
    full=Scale(starts=20, ipykernel_starts=0, crowd=100),
    quick=Scale(starts=5, ipykernel_starts=0, crowd=20),
    start_targets_ms=((SANDBOXED, 50.0), (FORKED, 50.0)),
    uss_targets_mib=(),
)
KINDS = (PYTHON, SAGE)


def sage_problem(engine_type: EngineType) -> str | None:
    """Why the Sage type's Python cannot import Sage, or None if it can."""
    try:
        checked = subprocess.run(
            [engine_type.bin, "-c", SAGE_CHECK],
            capture_output=True,
            text=True,
            timeout=TEMPLATE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if checked.returncode != 0:
        lines = checked.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {checked.returncode}"
    return None


def run(quick: bool = False, kinds: Sequence[Kind] = KINDS) -> list[Table]:
    """Measure the engine types; their tables."""
    compile_codenode()
    results: list[Table] = []
    for kind in kinds:
        scale = kind.quick if quick else kind.full
        engine_type = load_type(kind)
        if kind is SAGE and (why := sage_problem(engine_type)) is not None:
            results += skipped(kind, engine_type, why)
            continue
        results += tables(kind, engine_type, scale, measure_kind(engine_type, scale))
    return results
