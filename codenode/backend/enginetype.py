"""What an engine type *is*: a declaration in a plug-in file, checked when it is made.

A plug-in file is a Python file in the backend's plug-in folder; every ``EngineType`` it makes
at top level is one engine type. The whole recipe for a new kind of engine:

    from codenode.backend.enginetype import EngineType, Limits

    ruby = EngineType(
        name="ruby",
        description="Ruby 3 through my adapter",
        bin="/usr/bin/ruby",
        args=["/opt/adapters/codenode_engine.rb"],
        env={"RUBYOPT": "-W0"},
        limits=Limits(memory_mb=1024),
    )

The backend starts ``bin`` with ``args`` and ``--fd N`` appended (N: the engine's socket; see
docs/engine-protocol.md), in the working directory ``path``, with ``env`` added to a clean,
minimal environment: nothing of the backend's own environment (its token least of all)
reaches an engine. A ``templated`` type is started that way once, with ``--template-fd N``,
as a template that forks its engines (docs/templates.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

NAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
NETWORKS = ("host", "none")
RESERVED_TARGETS = ("", "/proc", "/dev", "/tmp", "/workspace", "/.workspaces")


class DeclarationError(ValueError):
    """An engine type declared with a missing or wrong attribute."""


@dataclass(frozen=True)
class Limits:
    """What one engine may use; None means no limit. Enforced by the OS (setrlimit)."""

    memory_mb: int | None = 2048
    cpu_seconds: int | None = None
    processes: int | None = 256
    open_files: int | None = 1024
    output_chars: int | None = 20_000_000  # per evaluation
    tmp_mb: int | None = 512  # a sandboxed engine's private /tmp and /dev/shm, each
    workspace_mb: int | None = None  # a sandboxed engine's workspace, as a file system that size

    def __post_init__(self) -> None:
        for name in (
            "memory_mb",
            "cpu_seconds",
            "processes",
            "open_files",
            "output_chars",
            "tmp_mb",
            "workspace_mb",
        ):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value <= 0
            ):
                raise DeclarationError(f"limits: {name} must be a positive whole number or None")


@dataclass(frozen=True)
class Mount:
    """A folder of the backend's machine shown to a sandboxed engine (a shared data set, say)."""

    source: str
    target: str
    writable: bool = False

    def __post_init__(self) -> None:
        for name in ("source", "target"):
            value = getattr(self, name)
            _check(
                isinstance(value, str) and value.startswith("/") and "/../" not in value + "/",
                f"mounts: {name} must be an absolute path",
            )
        _check(isinstance(self.writable, bool), "mounts: writable must be True or False")
        _check(
            self.target.rstrip("/") not in RESERVED_TARGETS
            and not self.target.startswith(("/tmp/", "/proc/", "/dev/")),
            f"mounts: target {self.target!r} is the sandbox's own",
        )


@dataclass(frozen=True)
class EngineType:
    """One kind of engine: the OS process to start for it, and its limits."""

    name: str
    bin: str
    args: list[str] = field(default_factory=list)
    description: str = ""
    env: dict[str, str] = field(default_factory=dict)
    path: str = "~"
    limits: Limits = field(default_factory=Limits)
    pool: int = 0  # ready engines kept pre-started
    start_timeout: float = 10.0  # seconds until the engine must say ready
    # Modules bin's Python must be able to import; the type is listed unavailable otherwise.
    requires: list[str] = field(default_factory=list)
    # Engines are forked from a warm template process (the engine must speak the template
    # protocol: docs/templates.md); preload: modules the template imports for all of them.
    templated: bool = False
    preload: list[str] = field(default_factory=list)
    # Engines run in a sandbox (docs/security.md): their workspace, the system and their
    # runtime read-only, nothing of Codenode's. sandbox=False: the whole machine, as the backend.
    sandbox: bool = True
    network: str = "host"  # or "none": loopback only
    mounts: list[Mount] = field(default_factory=list)  # more folders a sandboxed engine sees

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check(isinstance(self.bin, str) and self.bin != "", "bin must be a non-empty string")
        _check(_is_str_list(self.args), "args must be a list of strings")
        _check(isinstance(self.description, str), "description must be a string")
        _check(
            isinstance(self.env, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in self.env.items()),
            "env must be a dict of strings to strings",
        )
        _check(isinstance(self.path, str) and self.path != "", "path must be a directory path")
        _check(isinstance(self.limits, Limits), "limits must be a Limits(...)")
        _check(
            isinstance(self.pool, int) and not isinstance(self.pool, bool) and 0 <= self.pool <= 64,
            "pool must be a whole number from 0 to 64",
        )
        _check(
            isinstance(self.start_timeout, (int, float)) and 0 < self.start_timeout <= 600,
            "start_timeout must be a number of seconds from 0 to 600",
        )
        _check(_is_str_list(self.requires), "requires must be a list of module names")
        _check(isinstance(self.templated, bool), "templated must be True or False")
        _check(
            _is_str_list(self.preload) and all(_is_module_name(m) for m in self.preload),
            "preload must be a list of module names",
        )
        _check(self.templated or not self.preload, "preload needs templated=True")
        _check(isinstance(self.sandbox, bool), "sandbox must be True or False")
        _check(self.network in NETWORKS, "network must be 'host' or 'none'")
        _check(
            isinstance(self.mounts, list) and all(isinstance(m, Mount) for m in self.mounts),
            "mounts must be a list of Mount(...)",
        )

    @property
    def working_directory(self) -> str:
        """path with ~ and $VARIABLES expanded."""
        return os.path.expandvars(os.path.expanduser(self.path))

    def summary(self) -> dict[str, Any]:
        """The fields a listing shows."""
        return {
            "name": self.name,
            "description": self.description,
            "templated": self.templated,
            "sandbox": self.sandbox,
            "network": self.network if self.sandbox else "host",
            "workspace_mb": self.limits.workspace_mb if self.sandbox else None,
        }


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DeclarationError(message)


def _check_name(name: object) -> None:
    _check(isinstance(name, str) and 0 < len(name) <= 64, "name must be a string of 1-64 chars")
    assert isinstance(name, str)
    _check(
        set(name) <= NAME_CHARACTERS,
        f"name {name!r} may hold only lowercase letters, digits, '-', '_' and '.'",
    )


def _is_module_name(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
