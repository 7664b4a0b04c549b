"""The open notebooks of a frontend (being built)."""

from __future__ import annotations

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
