"""Adopting the engine a frontend before this one left running for a notebook.

The database says which engine a notebook has (``placements``); if its backend still runs it
and its bus answers, this frontend binds it, variables and all, instead of starting another.
If not, the record is forgotten and the notebook starts a new engine when it needs one.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection

from codenode.frontend.backends.registry import BackendRegistry, Placement
from codenode.frontend.bus import placements
from codenode.frontend.bus.dial import FAILURES, dial


@dataclass(frozen=True)
class Adopted:
    """An engine found running, and connected to."""

    placement: Placement
    connection: ClientConnection
    state: str  # as its backend reports it: idle, busy, ...


async def adopt(
    sessions: async_sessionmaker[AsyncSession], registry: BackendRegistry, notebook_id: str
) -> Adopted | None:
    """The engine the database says this notebook has, if it is still running and its bus
    answers; None otherwise (and then the record is forgotten)."""
    recalled = await placements.recall(sessions, notebook_id)
    if recalled is None:
        return None
    found = await registry.adoptable(*recalled)
    connection = None
    if found is not None:
        with contextlib.suppress(*FAILURES):
            connection = await dial(found[0])
    if found is None or connection is None:
        await placements.forget(sessions, notebook_id, recalled[1])
        return None
    return Adopted(found[0], connection, found[1])
