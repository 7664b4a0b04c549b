"""Whether an engine type can run on this backend, and if not, why, in words.

Checked as launch.py will start it: the same environment and working directory, bin found
and executable, and every module in ``requires`` importable by bin (asked of bin itself, in a
subprocess with a time limit, since bin may be another Python entirely).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil

from codenode.backend.enginetype import EngineType
from codenode.backend.launch import engine_environment

CHECK_SECONDS = 10.0  # for bin to answer which of the required modules it can import

# Runs under bin, whatever its Python version: find_spec locates a module without running it.
FIND_MISSING = """\
import importlib.util, sys
def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:
        return False
print("missing:" + " ".join(name for name in sys.argv[1:] if not found(name)))
"""


async def why_unavailable(engine_type: EngineType) -> str | None:
    """Why the type cannot run here, or None if it can."""
    try:
        return await _check(engine_type)
    except Exception as exc:  # a value no check foresaw (a NUL in env, ...) must not stop a load
        return f"could not be checked: {type(exc).__name__}: {exc}"


async def _check(engine_type: EngineType) -> str | None:
    """Checked as launch.py will start it: same environment, same working directory."""
    directory = engine_type.working_directory
    if not os.path.isdir(directory):
        return f"working directory {directory} does not exist"
    env = engine_environment(engine_type)
    bin_ = engine_type.bin
    if os.sep in bin_:
        executable = os.path.join(directory, bin_)  # as exec resolves it: relative to path
        if not os.path.isfile(executable):
            return f"{bin_} does not exist"
        if not os.access(executable, os.X_OK):
            return f"{bin_} is not executable"
    else:
        found = shutil.which(bin_, path=env.get("PATH", os.defpath))
        if found is None:
            return f"{bin_} is not on the engine's PATH ({env.get('PATH', os.defpath)})"
        executable = found
    if not engine_type.requires:
        return None
    return await _missing_modules(executable, engine_type, env, directory)


async def _missing_modules(
    executable: str, engine_type: EngineType, env: dict[str, str], directory: str
) -> str | None:
    """Ask bin which of the required modules it cannot import."""
    bin_, requires = engine_type.bin, engine_type.requires
    try:
        process = await asyncio.create_subprocess_exec(
            *(executable, "-c", FIND_MISSING, *requires),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=directory,
        )
    except OSError as exc:
        return f"{bin_} could not be run: {exc.strerror or exc}"
    try:
        out, err = await asyncio.wait_for(process.communicate(), CHECK_SECONDS)
    except TimeoutError:
        wanted = ", ".join(requires)
        return f"{bin_} did not say within {CHECK_SECONDS:g} s whether it can import {wanted}"
    finally:
        if process.returncode is None:  # timed out or cancelled: leave no process behind
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.communicate()
    answer = (out.decode(errors="replace").splitlines() or [""])[-1]
    if process.returncode != 0 or not answer.startswith("missing:"):
        last = (err.decode(errors="replace").strip().splitlines() or ["no answer"])[-1]
        status = process.returncode
        return f"{bin_} could not check its required modules (exit status {status}): {last}"
    missing = answer.removeprefix("missing:").split()
    return f"{bin_} cannot import {', '.join(missing)}" if missing else None
