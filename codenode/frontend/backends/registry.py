"""The registry of backends: which are healthy, what engine types they offer, where to start
an engine (being built: the interface below is what the rest of the frontend relies on)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codenode.frontend.errors import Unavailable


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


class BackendRegistry:
    """Backends from the database, health-checked every *interval* seconds."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], interval: float) -> None:
        self.sessions = sessions
        self.interval = interval

    async def start(self) -> None:
        """Load the backends and check them once; then keep checking in the background."""

    async def close(self) -> None:
        """Stop checking; close connections."""

    async def refresh(self) -> None:
        """Reload the backends from the database and check each now."""

    def engine_types(self) -> list[dict[str, Any]]:
        """Engine types offered by healthy backends: name, description, backends offering it."""
        return []

    async def start_engine(
        self, engine_type: str, avoid: frozenset[int] = frozenset()
    ) -> Placement:
        """Start an engine of *engine_type* on the least-loaded healthy backend offering it
        (not one of the backend ids in *avoid*, unless it is the only one)."""
        raise Unavailable(f"no healthy backend offers the engine type {engine_type!r}")

    async def stop_engine(self, placement: Placement) -> None:
        """Stop the engine; quietly done if it or its backend is gone."""

    async def interrupt(self, placement: Placement) -> None:
        """Interrupt what the engine runs."""

    async def restart(self, placement: Placement) -> None:
        """A fresh process under the same engine id."""

    def mark_unreachable(self, backend_id: int, reason: str) -> None:
        """The bus lost this backend: treat it as unhealthy until the next check says otherwise."""
