"""Where engines go: the placement policy, and ``Placement``, where one engine went."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from codenode.frontend.backends.health import BackendState


@dataclass(frozen=True)
class Placement:
    """Where a notebook's engine runs: a backend (id, name, base URL, token) and the engine."""

    backend_id: int
    backend_name: str
    url: str
    token: str
    engine_id: str

    def __repr__(self) -> str:  # never the token
        return f"Placement({self.backend_name!r}, engine={self.engine_id!r})"

    @property
    def bus_url(self) -> str:
        """The engine's bus on its backend (ws:// or wss://)."""
        return "ws" + self.url.removeprefix("http").rstrip("/") + f"/engines/{self.engine_id}/bus"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def ranked(
    backends: Iterable[BackendState], engine_type: str, avoid: frozenset[int] = frozenset()
) -> list[BackendState]:
    """The healthy backends offering *engine_type*, in the order to try them.

    Least-loaded first; a backend in *avoid* (say, the one a notebook's last engine died on)
    comes after all the others, so it is used only when nothing else offers the type. Ties go
    by name, so the order is the same on every frontend.
    """
    offering = [backend for backend in backends if backend.offers(engine_type)]
    return sorted(offering, key=lambda b: (b.id in avoid, b.load, b.name))


def unavailable_message(
    backends: Iterable[BackendState], engine_type: str, refusals: dict[str, str]
) -> str:
    """Why no engine of *engine_type* could be started: for the user, naming each backend.

    *refusals* holds what the backends that were tried answered, by backend name.
    """
    backends = list(backends)
    if refusals:
        said = "; ".join(f"{name}: {reason}" for name, reason in sorted(refusals.items()))
        return f"no backend could start an engine of type {engine_type!r} ({said})"
    if not backends:
        return "no backend is registered: an admin adds one with `codenode backends add`"
    down = [b for b in backends if not b.healthy]
    elsewhere = [b.name for b in down if engine_type in b.types]
    not_offered = [
        f"{b.name}: {b.unavailable[engine_type]}"
        for b in backends
        if b.healthy and engine_type in b.unavailable
    ]
    parts = []
    if not_offered:
        parts.append("unavailable on " + "; ".join(not_offered))
    if down:
        parts.append(
            "down: " + "; ".join(f"{b.name} ({b.reason})" for b in sorted(down, key=_name))
        )
    message = f"no healthy backend offers the engine type {engine_type!r}"
    if elsewhere:
        message = f"every backend offering the engine type {engine_type!r} is down"
    return message + (f" ({'; '.join(parts)})" if parts else "")


def _name(backend: BackendState) -> str:
    return backend.name
