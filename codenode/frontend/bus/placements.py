"""Engine placements in the database: which engine, on which backend, a notebook has.

A frontend that stops gracefully leaves its notebooks' engines running; the frontend that
comes next (the same one restarted, or another on the same database) reads the placement and
adopts the engine, variables and all, instead of starting a new one. A frontend that dies
outright leaves the rows too: adoption works the same. Engines nobody adopts are stopped by
their backend after its grace period (docs/backend.md).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codenode.frontend.backends.registry import Placement
from codenode.frontend.db import EnginePlacement


async def remember(
    sessions: async_sessionmaker[AsyncSession], notebook_id: str, placement: Placement
) -> None:
    """The notebook's engine is now this one."""
    async with sessions() as db:
        await db.execute(delete(EnginePlacement).where(EnginePlacement.notebook_id == notebook_id))
        db.add(
            EnginePlacement(
                notebook_id=notebook_id,
                backend_id=placement.backend_id,
                engine_id=placement.engine_id,
            )
        )
        await db.commit()


async def recall(
    sessions: async_sessionmaker[AsyncSession], notebook_id: str
) -> tuple[int, str] | None:
    """The backend id and engine id the notebook's engine had, if any."""
    async with sessions() as db:
        row = (
            await db.execute(
                select(EnginePlacement.backend_id, EnginePlacement.engine_id).where(
                    EnginePlacement.notebook_id == notebook_id
                )
            )
        ).first()
    return None if row is None else (row[0], row[1])


async def forget(
    sessions: async_sessionmaker[AsyncSession], notebook_id: str, engine_id: str | None = None
) -> None:
    """The notebook has no engine any more (only if it is still *engine_id*, when given: a
    newer engine's row stays)."""
    condition = EnginePlacement.notebook_id == notebook_id
    if engine_id is not None:
        condition = condition & (EnginePlacement.engine_id == engine_id)
    async with sessions() as db:
        await db.execute(delete(EnginePlacement).where(condition))
        await db.commit()
