"""Control groups for engines, where the machine lets the backend make them.

A cgroup limits what an engine and every process it starts use together, which setrlimit
cannot: memory actually used (not address space) and the number of processes (which setrlimit
does not enforce for root). Both cgroup v2 (``memory.max``, ``pids.max``) and the older v1
hierarchies (``memory.limit_in_bytes``, ``pids.max``) are handled; where neither is writable,
engines run with setrlimit alone and the listing of limits says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from codenode.backend.enginetype import Limits

log = logging.getLogger("codenode.backend")
ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Controller:
    """One cgroup controller the backend can use: where its groups go, and its file names."""

    name: str  # "memory" or "pids"
    base: Path  # the backend's own group in that hierarchy
    limit_file: str
    version: int


def _own_groups() -> dict[str, tuple[int, str]]:
    """controller -> (version, the backend's group path), from /proc/self/cgroup."""
    groups: dict[str, tuple[int, str]] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            number, controllers, path = line.split(":", 2)
            if number == "0":
                groups.setdefault("", (2, path))
            for name in controllers.split(","):
                if name in ("memory", "pids"):
                    groups[name] = (1, path)
    return groups


def _candidates() -> list[Controller]:
    groups = _own_groups()
    found = []
    for name, v1_file, v2_file in (
        ("memory", "memory.limit_in_bytes", "memory.max"),
        ("pids", "pids.max", "pids.max"),
    ):
        if name in groups:
            found.append(Controller(name, ROOT / name / groups[name][1].lstrip("/"), v1_file, 1))
            continue
        if "" in groups:
            base = _unified_root() / groups[""][1].lstrip("/")
            with contextlib.suppress(OSError):
                if name in (base / "cgroup.subtree_control").read_text().split():
                    found.append(Controller(name, base, v2_file, 2))
    return found


def _unified_root() -> Path:
    unified = ROOT / "unified"
    return unified if unified.is_dir() else ROOT


class Cgroups:
    """The backend's cgroups: one folder per controller, one group per engine inside it."""

    def __init__(self) -> None:
        self.controllers: list[Controller] = []
        tag = f"codenode-backend-{os.getpid()}"
        for controller in _candidates():
            _remove_stale(controller.base)
            folder = controller.base / tag
            try:
                folder.mkdir(exist_ok=True)
            except OSError:
                continue
            self.controllers.append(
                Controller(controller.name, folder, controller.limit_file, controller.version)
            )
        names = ", ".join(f"{c.name} (v{c.version})" for c in self.controllers) or "none"
        log.info("cgroup controllers for engines: %s", names)

    def has(self, name: str) -> bool:
        """Whether engines get a cgroup of this controller."""
        return any(c.name == name for c in self.controllers)

    def create(self, engine_id: str, limits: Limits) -> list[Path]:
        """Groups for one engine with its limits; the cgroup.procs files its process joins."""
        values = {
            "memory": None if limits.memory_mb is None else limits.memory_mb * 1024 * 1024,
            "pids": limits.processes,
        }
        procs = []
        for controller in self.controllers:
            value = values[controller.name]
            if value is None:
                continue
            group = controller.base / engine_id
            try:
                group.mkdir(exist_ok=True)
                (group / controller.limit_file).write_text(str(value))
            except OSError as exc:
                log.warning("cgroup %s for engine %s: %s", controller.name, engine_id, exc)
                continue
            procs.append(group / "cgroup.procs")
        return procs

    def oom_killed(self, engine_id: str) -> bool:
        """Whether the kernel killed a process of this engine for its memory limit."""
        for controller in self.controllers:
            if controller.name != "memory":
                continue
            events = "memory.oom_control" if controller.version == 1 else "memory.events"
            with contextlib.suppress(OSError, ValueError):
                for line in (controller.base / engine_id / events).read_text().splitlines():
                    key, _, count = line.partition(" ")
                    if key == "oom_kill" and int(count) > 0:
                        return True
        return False

    def remove(self, engine_id: str) -> None:
        """Remove an engine's groups (once its processes are gone)."""
        for controller in self.controllers:
            with contextlib.suppress(OSError):
                (controller.base / engine_id).rmdir()

    def close(self) -> None:
        """Remove the backend's own folders."""
        for controller in self.controllers:
            with contextlib.suppress(OSError):
                for group in controller.base.iterdir():
                    if group.is_dir():
                        group.rmdir()
                controller.base.rmdir()


def _remove_stale(base: Path) -> None:
    """Folders left by backends that were killed (SIGKILL leaves no time to clean up)."""
    with contextlib.suppress(OSError):
        for folder in base.glob("codenode-backend-*"):
            pid = folder.name.rsplit("-", 1)[1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                for group in folder.iterdir():
                    if group.is_dir():
                        with contextlib.suppress(OSError):
                            group.rmdir()
                with contextlib.suppress(OSError):
                    folder.rmdir()


def members_file(procs: Path) -> Path:
    """The file a process writes 0 to, to join the group whose cgroup.procs is procs.

    On cgroup v1, a group's ``tasks``: moving a single-threaded process as its one thread skips
    the RCU grace period (10-20 ms) that moving a whole process through cgroup.procs waits for.
    """
    tasks = procs.with_name("tasks")
    return tasks if tasks.exists() else procs
