"""The open notebooks of a frontend (being built)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codenode.frontend.backends.registry import BackendRegistry
from codenode.frontend.config import FrontendConfig


class Hub:
    """Every notebook that has a tab open or an engine bound, by id."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        registry: BackendRegistry,
        config: FrontendConfig,
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.config = config

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def notify(self, notebook_id: str, event: dict[str, Any]) -> None:
        """Tell every tab that has the notebook open (``codenode.frontend.events``). A REST
        route calls this after committing its change."""

    async def replaced(self, notebook_id: str) -> None:
        """The notebook's cells changed wholesale (revert): every tab gets it again."""

    async def forget(self, notebook_id: str) -> None:
        """The notebook is deleted: stop its engine and close its tabs."""
