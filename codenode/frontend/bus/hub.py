"""The open notebooks of a frontend: one session per notebook, however many tabs show it.

The hub also runs the two chores of every session: writing running cells' outputs to the
database (every ``output_flush_seconds``) and stopping engines unused for
``idle_engine_seconds`` (evaluations count as use; a tab that connects does not).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codenode.frontend import events
from codenode.frontend.access import role_on
from codenode.frontend.backends.registry import BackendRegistry
from codenode.frontend.bus.session import NotebookSession
from codenode.frontend.config import FrontendConfig
from codenode.frontend.db import Notebook

log = logging.getLogger("codenode.frontend.bus")


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
        self.notebooks: dict[str, NotebookSession] = {}
        self._chores: list[asyncio.Task[None]] = []
        self.closing = False  # no engine is started or adopted once the frontend stops

    async def start(self) -> None:
        self._chores = [
            asyncio.create_task(self._keep(self._flush_all, self.config.output_flush_seconds)),
            asyncio.create_task(
                self._keep(self._stop_idle, min(30.0, self.config.idle_engine_seconds / 4))
            ),
        ]

    async def close(self) -> None:
        """Store every output, close every tab, and leave the engines running: the next
        frontend on this database adopts them (placements.py)."""
        for chore in self._chores:
            chore.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chore
        self.closing = True
        # In this order, so that every tab gets its running cells' last word (their results
        # fail: this frontend will not see them end), stored too, before its close says why.
        for session in list(self.notebooks.values()):
            await session.leave_engine()
        await self._flush_all()
        tabs = [tab for session in self.notebooks.values() for tab in session.tabs.values()]
        await asyncio.gather(*(tab.close(1001, "the frontend is stopping") for tab in tabs))
        self.notebooks.clear()

    def session(self, notebook_id: str, engine_type: str, workspace: str) -> NotebookSession:
        session = self.notebooks.get(notebook_id)
        if session is None:
            session = NotebookSession(self, notebook_id, engine_type, workspace)
            self.notebooks[notebook_id] = session
        return session

    def release(self, session: NotebookSession) -> None:
        """Forget a session that has nothing left to do."""
        if session.unused and self.notebooks.get(session.notebook_id) is session:
            del self.notebooks[session.notebook_id]

    async def notify(self, notebook_id: str, event: dict[str, Any]) -> None:
        """Tell every tab that has the notebook open (``codenode.frontend.events``). A REST
        route calls this after committing its change."""
        session = self.notebooks.get(notebook_id)
        if session is not None:
            session.note(event)
            if event.get("type") == "notebook_updated":
                session.engine_type = event["notebook"]["engine_type"]
            session.broadcast(event)

    async def replaced(self, notebook_id: str) -> None:
        """The notebook's cells changed wholesale (revert): every tab gets it again."""
        session = self.notebooks.get(notebook_id)
        if session is None:
            return
        event = events.notebook_replaced()
        session.note(event)
        session.broadcast(event)
        for tab in list(session.tabs.values()):
            tab.send(await session.whole_notebook(tab))

    async def recheck(self, notebook_id: str) -> None:
        """Who may see the notebook changed: tabs keep the role they have now, and a tab that
        lost its access is closed (code 4403)."""
        session = self.notebooks.get(notebook_id)
        if session is None:
            return
        async with self.sessions() as db:
            notebook = await db.get(Notebook, notebook_id)
            for tab in list(session.tabs.values()):
                role = None if notebook is None else await role_on(db, notebook, tab.user)
                if role is None:
                    session.tabs.pop(tab.number, None)
                    await tab.close(4403, "your access to this notebook was withdrawn")
                elif role != tab.role:
                    tab.role = role
                    tab.send({"type": "role", "role": role})

    async def forget(self, notebook_id: str) -> None:
        """The notebook is deleted: stop its engine and close its tabs."""
        session = self.notebooks.pop(notebook_id, None)
        if session is None:
            return
        session.running.clear()
        await session.stop_engine("stopped: the notebook was deleted")
        for tab in list(session.tabs.values()):
            await tab.close(4404, "the notebook was deleted")

    async def engine_state(self, notebook_id: str) -> dict[str, Any]:
        session = self.notebooks.get(notebook_id)
        return (
            session.engine_event() if session is not None else {"type": "engine", "state": "none"}
        )

    # -- chores -----------------------------------------------------------------------------

    async def _keep(self, chore: Any, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await chore()
            except Exception:  # the next round tries again; the log says what went wrong
                log.exception("bus chore %s failed", chore.__name__)

    async def _flush_all(self) -> None:
        for session in list(self.notebooks.values()):
            try:
                await session.flush()
            except Exception:
                log.exception("notebook %s: storing outputs failed", session.notebook_id)
            self.release(session)

    async def _stop_idle(self) -> None:
        limit = self.config.idle_engine_seconds
        now = time.monotonic()
        for session in list(self.notebooks.values()):
            if (
                session.link is not None
                and not session.busy
                and now - session.last_evaluation > limit
            ):
                minutes = limit / 60
                shown = f"{minutes:g} minutes" if minutes >= 1 else f"{limit:g} seconds"
                log.info("notebook %s: engine stopped, idle for %s", session.notebook_id, shown)
                await session.stop_engine(f"stopped after {shown} without evaluations")
                self.release(session)
