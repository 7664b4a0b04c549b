"""One open notebook: its tabs, its engine (on some backend), its edits and its running cells.

The session puts together what each module does alone: the tabs and what they are all told
(``tab.Tabs``), the link to the engine and the requests it has yet to answer
(``engine_link``, ``replies``, ``requests``), the edits (``editing``), and the outputs of the
running cells until they are stored (``running``).

The database is the truth for sources; a cell's outputs live here while it runs and reach the
database in batches (``flush``, at most ``output_flush_seconds`` behind). A tab that connects
gets the database's notebook with those live outputs laid over it, then the live stream.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection

from codenode.frontend import notebooks
from codenode.frontend.backends.registry import Placement
from codenode.frontend.bus.editing import Editing
from codenode.frontend.bus.engine_link import EngineLink
from codenode.frontend.bus.requests import Pending, fail_evaluation
from codenode.frontend.bus.running import RunningCells
from codenode.frontend.bus.tab import Tab, Tabs
from codenode.frontend.errors import FrontendError

if TYPE_CHECKING:
    from codenode.frontend.bus.hub import Hub

__all__ = ["NotebookSession", "Pending"]

# What a tab may forward to the engine of a complete / introspect / input_reply.
_FORWARDED = ("op", "text", "cursor", "expr", "detail", "value")


class NotebookSession:
    """A notebook that has tabs open or an engine bound."""

    def __init__(self, hub: Hub, notebook_id: str, engine_type: str, workspace: str) -> None:
        self.hub = hub
        self.notebook_id = notebook_id
        self.tabs = Tabs()
        self.running = RunningCells(hub.config.stored_output_chars)
        self.engine = EngineLink(hub, notebook_id, engine_type, workspace, self.tabs)
        self.editing = Editing(hub, notebook_id, self.tabs, self.running)
        self.last_evaluation = time.monotonic()
        self.joining = 0  # tabs between their snapshot and joining: the hub keeps the session

    # -- what others read of it -------------------------------------------------------------

    @property
    def engine_type(self) -> str:
        """The notebook's engine type (a new engine is of this one)."""
        return self.engine.engine_type

    @engine_type.setter
    def engine_type(self, engine_type: str) -> None:  # the notebook's type was changed
        self.engine.engine_type = engine_type

    @property
    def link(self) -> ClientConnection | None:
        """The connection to the engine's bus, if one is bound."""
        return self.engine.connection

    @property
    def placement(self) -> Placement | None:
        """Which engine, on which backend, is bound."""
        return self.engine.placement

    @property
    def state(self) -> str:
        """The engine's state: none, starting, idle, busy or dead."""
        return self.engine.state

    @property
    def busy(self) -> bool:
        """An evaluation waits for the engine."""
        return self.engine.requests.busy

    @property
    def unused(self) -> bool:
        """Nothing to keep this session for: no tab (joined or joining), no engine, nothing
        left to store."""
        return not self.tabs and not self.joining and self.link is None and not self.running

    def broadcast(self, message: dict[str, Any]) -> None:
        """Tell every tab."""
        self.tabs.broadcast(message)

    def engine_event(self) -> dict[str, Any]:
        """The engine's state as tabs get it."""
        return self.engine.event()

    async def join(self, tab: Tab) -> dict[str, Any]:
        """The tab joins the notebook: it gets the whole notebook (its first message, which
        the caller sends), then everything every tab is told."""
        # Counted while its snapshot is read: a session with no tab yet is one the hub
        # forgets (``Hub.release``, every flush), and a tab joining a forgotten session would
        # hear nothing of the tabs that open the notebook after it.
        self.joining += 1
        try:
            first = await self.whole_notebook(tab)
        finally:
            self.joining -= 1
        self.tabs[tab.number] = tab  # no await since the snapshot: the tab misses nothing
        return first

    async def whole_notebook(self, tab: Tab) -> dict[str, Any]:
        """The notebook as it is now, live outputs included: the first message a tab gets."""
        # Under the edit lock: no change can be committed between this read and the tab
        # joining the broadcast, so the tab misses nothing.
        async with self.editing.lock, self.hub.sessions() as db:
            notebook = await notebooks.load(db, self.notebook_id)
        cells = []
        for cell in notebook.cells:
            data = notebooks.cell_dict(cell)
            self.editing.sources[cell.id] = cell.source
            live = self.running.get(cell.id)
            if live is not None:
                data["outputs"] = live.items
                data["execution_count"] = live.execution_count
            cells.append(data)
        return {
            "type": "notebook",
            "notebook": notebooks.notebook_dict(notebook, tab.role),
            "cells": cells,
            "engine": self.engine.event(),
            "running": self.engine.requests.evaluating,
            "you": tab.number,
        }

    # -- requests from a tab ----------------------------------------------------------------

    async def evaluate(self, tab: Tab, tab_id: int | None, cell_id: str, source: str) -> None:
        """Store the source, then run it; output streams to every tab."""
        self.last_evaluation = time.monotonic()
        sources = self.editing.sources
        if sources.get(cell_id) != source:
            await self.edit(tab, tab_id, "update_cell", {"cell_id": cell_id, "source": source})
            if sources.get(cell_id) != source:
                return  # the edit failed; the tab was told why
        outputs = self.running.start(cell_id)
        self.tabs.broadcast({"type": "queued", "cell_id": cell_id})
        try:
            await self.engine.ensure()
        except FrontendError as exc:
            fail_evaluation(self.tabs, cell_id, outputs, "EngineUnavailable", exc.message)
            return
        pending = Pending("evaluate", tab, tab_id, cell_id, outputs)
        await self.engine.ask(pending, {"op": "evaluate", "code": source})

    async def engine_request(self, tab: Tab, tab_id: int | None, message: dict[str, Any]) -> None:
        """complete / introspect / input_reply: answered by the engine. Completing in a
        notebook that has no engine yet starts one (a writer asks: it is about to run code)."""
        op = message["op"]
        if op == "input_reply" and self.link is None:
            return  # nothing is waiting for input
        try:
            await self.engine.ensure()
        except FrontendError as exc:
            tab.send({"type": "error", "id": tab_id, "message": exc.message})
            return
        forwarded = {k: v for k, v in message.items() if k in _FORWARDED}
        if op == "input_reply":  # answered by the evaluation's own output and result
            await self.engine.send({"id": self.engine.requests.next_id(), **forwarded})
            return
        await self.engine.ask(Pending(op, tab, tab_id), forwarded)

    async def control(self, op: str) -> None:
        """interrupt / restart / stop the engine (from the bus or the API)."""
        await self.engine.control(op)

    async def edit(
        self, tab: Tab | None, tab_id: int | None, op: str, message: dict[str, Any]
    ) -> None:
        """A change to the notebook from a tab: stored, recorded, told to every tab."""
        await self.editing.edit(tab, tab_id, op, message)

    def note(self, event: dict[str, Any]) -> None:
        """Keep what the session knows of the notebook in step with a change (REST's too)."""
        self.editing.note(event)

    # -- the engine -------------------------------------------------------------------------

    async def open_engine(self) -> None:
        """Start the engine ahead of the first evaluation; a failure is told, not raised."""
        with contextlib.suppress(FrontendError):
            await self.engine.ensure()

    async def ensure_engine(self) -> None:
        """An engine for this notebook (bound, adopted or new); FrontendError if none."""
        await self.engine.ensure()

    async def readopt(self) -> None:
        """Bind the engine a frontend before this one left running, if any."""
        await self.engine.readopt()

    async def stop_engine(self, reason: str) -> None:
        """Stop the bound engine (if any) and say so."""
        await self.engine.stop(reason)

    async def leave_engine(self) -> None:
        """Let go of the engine without stopping it (this frontend stops)."""
        await self.engine.leave()

    # -- storing outputs --------------------------------------------------------------------

    async def flush(self) -> None:
        """Write every running cell's new outputs; forget the cells that finished."""
        await self.running.flush(self.hub.sessions, self.notebook_id)
