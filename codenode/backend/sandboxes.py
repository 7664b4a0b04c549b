"""What an engine type's sandbox shows, as the spec that codenode/engine/sandbox.py makes.

The backend decides what an engine may see; the engine side only carries it out. The view is
an allow-list: the system folders, then the type's runtime (the prefix its ``bin`` lives in,
the folders of its ``PYTHONPATH``, the files its arguments name), then the type's own
``mounts``. Codenode's folders (the environment folder, the plug-ins, the workspaces) are
hidden even where a runtime folder holds them. See docs/security.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codenode.backend.enginetype import EngineType
from codenode.backend.workspaces import Workspace, Workspaces
from codenode.engine import sandbox as engine_side

ENVIRONMENT = engine_side.ENVIRONMENT
HELPER = str(Path(engine_side.__file__).resolve())
# The launcher is run by the backend's own Python, isolated (-I) and without site (-S): it
# needs the standard library only, and reads nothing a user could have put in its way.
HELPER_PYTHON = (sys.executable, "-I", "-S", HELPER, "--")


@dataclass(frozen=True)
class Sandbox:
    """The sandbox of one engine: its type's view, and the workspace it works in."""

    spec: dict[str, Any]
    workspace: Workspace


class Sandboxes:
    """The sandboxes this backend makes: where workspaces are, what is never shown."""

    def __init__(self, workspaces: Workspaces, hidden: Sequence[Path] = ()) -> None:
        self.workspaces = workspaces
        self.hidden = [str(path.resolve()) for path in (*hidden, workspaces.root)]
        self.staging = workspaces.root / ".view"  # an empty folder the new root is built on

    def view(self, engine_type: EngineType) -> dict[str, Any]:
        """The spec of an engine type's view (what sandbox.build_view builds)."""
        return {
            "staging": str(self.staging),
            "readonly": runtime_paths(engine_type),
            "mounts": [
                {"source": m.source, "target": m.target, "writable": m.writable}
                for m in engine_type.mounts
            ],
            "hidden": self.hidden,
            "network": engine_type.network,
            "tmp_mb": engine_type.limits.tmp_mb or 512,
            "workspaces": str(self.workspaces.root),
        }

    def prepare(self) -> None:
        """Make the folders a sandbox is built on (workspaces, staging)."""
        self.workspaces.root.mkdir(parents=True, exist_ok=True, mode=0o711)
        self.staging.mkdir(exist_ok=True, mode=0o700)

    def for_engine(self, engine_type: EngineType, key: str) -> Sandbox:
        """The sandbox of an engine of the type working in workspace key."""
        self.prepare()
        return Sandbox(self.view(engine_type), self.workspaces.get(key))


def runtime_paths(engine_type: EngineType) -> list[str]:
    """The folders and files an engine of the type needs to run, besides the system."""
    paths: set[str] = {str(Path(codenode_package()).parent)}
    for program in {engine_type.bin, os.path.realpath(engine_type.bin)}:
        paths.add(prefix_of(program))
    for entry in engine_type.env.get("PYTHONPATH", "").split(os.pathsep):
        if entry:
            paths.add(entry)
    for argument in engine_type.args:
        if argument.startswith("/") and os.path.exists(argument):
            paths.add(argument)
    return sorted(os.path.abspath(path) for path in paths)


def prefix_of(program: str) -> str:
    """Where a program's installation lives: /usr for /usr/bin/x, a venv for its bin/python."""
    folder = Path(program).parent
    return str(folder.parent if folder.name == "bin" else folder)


def codenode_package() -> str:
    """The folder of the codenode package this backend runs (engines import it from there)."""
    return str(Path(engine_side.__file__).resolve().parent.parent)


def engine_environment(sandbox: Sandbox, mode: str, cgroups: Sequence[Path] = ()) -> str:
    """CODENODE_SANDBOX for the launcher: ``template`` or ``engine`` (exec'd, in workspace)."""
    spec = {**sandbox.spec, "mode": mode}
    if mode == "engine":
        workspace = sandbox.workspace
        spec.update(workspace=str(workspace.path), cgroups=[str(path) for path in cgroups])
        if sandbox_as_root():
            spec.update(uid=workspace.uid, gid=workspace.gid)
    return json.dumps(spec)


def sandbox_as_root() -> bool:
    """Root gives each workspace its own uid; an ordinary user's engines get a user namespace."""
    return os.geteuid() == 0
