"""One open notebook: its tabs, its engine (on some backend), and its running cells.

The database is the truth for sources; a cell's outputs live here while it runs and reach the
database in batches (``flush``, at most ``output_flush_seconds`` behind). A tab that connects
gets the database's notebook with those live outputs laid over it, then the live stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from codenode.frontend import events, notebooks
from codenode.frontend.backends.registry import Placement
from codenode.frontend.bus import engine_messages, placements
from codenode.frontend.bus.outputs import CellOutputs
from codenode.frontend.bus.tab import Tab
from codenode.frontend.errors import FrontendError

if TYPE_CHECKING:
    from codenode.frontend.bus.hub import Hub

log = logging.getLogger("codenode.frontend.bus")


@dataclass
class Pending:
    """A request sent to the engine, waiting for its answer."""

    op: str
    tab: Tab | None
    tab_id: int | None
    cell_id: str | None = None
    outputs: CellOutputs | None = None


class NotebookSession:
    """A notebook that has tabs open or an engine bound."""

    def __init__(self, hub: Hub, notebook_id: str, engine_type: str, workspace: str) -> None:
        self.hub = hub
        self.notebook_id = notebook_id
        self.engine_type = engine_type
        self.workspace = workspace  # the owner's: the engine's files are the owner's
        self.tabs: dict[int, Tab] = {}
        self.placement: Placement | None = None
        self.link: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.state = "none"  # none | starting | idle | busy | dead
        self.reason = ""
        self.running: dict[str, CellOutputs] = {}  # cell id → its latest evaluation's outputs
        self.pending: dict[int, Pending] = {}  # engine request id → who waits
        self.malformed = 0  # messages refused from the engine (logged once, then by thousands)
        self.sources: dict[str, str] = {}  # stored sources, to skip writing an unchanged one
        self.last_evaluation = time.monotonic()
        self.restarting = False
        self.edits = asyncio.Lock()  # changes to the notebook, one at a time, in order
        self.starting = asyncio.Lock()
        self._ids = itertools.count(1)

    # -- tabs -------------------------------------------------------------------------------

    def broadcast(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        for tab in list(self.tabs.values()):
            tab.send_text(text)

    def engine_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {"type": "engine", "state": self.state}
        if self.reason:
            event["reason"] = self.reason
        if self.placement is not None:
            event["backend"] = self.placement.backend_name
        return event

    def set_state(self, state: str, reason: str = "") -> None:
        self.state, self.reason = state, reason
        self.broadcast(self.engine_event())

    async def whole_notebook(self, tab: Tab) -> dict[str, Any]:
        """The notebook as it is now, live outputs included: the first message a tab gets."""
        # Under the edit lock: no change can be committed between this read and the tab
        # joining the broadcast, so the tab misses nothing.
        async with self.edits, self.hub.sessions() as db:
            notebook = await notebooks.load(db, self.notebook_id)
        cells = []
        for cell in notebook.cells:
            data = notebooks.cell_dict(cell)
            self.sources[cell.id] = cell.source
            live = self.running.get(cell.id)
            if live is not None:
                data["outputs"] = live.items
                data["execution_count"] = live.execution_count
            cells.append(data)
        return {
            "type": "notebook",
            "notebook": notebooks.notebook_dict(notebook, tab.role),
            "cells": cells,
            "engine": self.engine_event(),
            "running": [p.cell_id for p in self.pending.values() if p.op == "evaluate"],
            "you": tab.number,
        }

    # -- requests from a tab ------------------------------------------------------------------

    async def evaluate(self, tab: Tab, tab_id: int | None, cell_id: str, source: str) -> None:
        """Store the source, then run it; output streams to every tab."""
        self.last_evaluation = time.monotonic()
        if self.sources.get(cell_id) != source:
            await self.edit(tab, tab_id, "update_cell", {"cell_id": cell_id, "source": source})
            if self.sources.get(cell_id) != source:
                return  # the edit failed; the tab was told why
        outputs = CellOutputs(self.hub.config.stored_output_chars)
        outputs.dirty = True  # the old outputs are cleared in the next flush
        self.running[cell_id] = outputs
        self.broadcast({"type": "queued", "cell_id": cell_id})
        try:
            await self.ensure_engine()
        except FrontendError as exc:
            self._fail(cell_id, outputs, "EngineUnavailable", exc.message)
            return
        request_id = next(self._ids)
        self.pending[request_id] = Pending("evaluate", tab, tab_id, cell_id, outputs)
        await self._send_engine({"id": request_id, "op": "evaluate", "code": source})

    async def engine_request(self, tab: Tab, tab_id: int | None, message: dict[str, Any]) -> None:
        """complete / introspect / input_reply: answered by the engine. Completing in a
        notebook that has no engine yet starts one (a writer asks: it is about to run code)."""
        op = message["op"]
        if op == "input_reply" and self.link is None:
            return  # nothing is waiting for input
        try:
            await self.ensure_engine()
        except FrontendError as exc:
            tab.send({"type": "error", "id": tab_id, "message": exc.message})
            return
        forwarded = {
            k: v
            for k, v in message.items()
            if k in ("op", "text", "cursor", "expr", "detail", "value")
        }
        if op == "input_reply":  # answered by the evaluation's own output and result
            await self._send_engine({"id": next(self._ids), **forwarded})
            return
        request_id = next(self._ids)
        self.pending[request_id] = Pending(op, tab, tab_id)
        await self._send_engine({"id": request_id, **forwarded})

    async def control(self, op: str) -> None:
        """interrupt / restart / stop the engine (from the bus or the API)."""
        placement = self.placement
        if placement is None or self.link is None:
            return
        if op == "interrupt":
            await self.hub.registry.interrupt(placement)
        elif op == "restart":
            self._fail_all("the engine was restarted")
            self.restarting = True  # the old process's death is part of the restart
            self.set_state("starting", "restarting")
            try:
                await self.hub.registry.restart(placement)
            finally:
                self.restarting = False
            if self.link is not None and self.state == "starting":
                self.set_state("idle")
        elif op == "stop":
            await self.stop_engine("stopped")

    async def edit(
        self, tab: Tab | None, tab_id: int | None, op: str, message: dict[str, Any]
    ) -> None:
        """A change to the notebook from a tab: stored, recorded, told to every tab."""
        author = tab.user.id if tab is not None and tab.user is not None else None
        async with self.edits, self.hub.sessions() as db:
            try:
                event = await self._apply(db, op, message)
                notebook = await notebooks.load(db, self.notebook_id)
                await notebooks.changed(
                    db,
                    notebook,
                    author,
                    _summary(op, message, notebook),
                    window=self.hub.config.revision_window_seconds,
                )
                await db.commit()
            except FrontendError as exc:
                await db.rollback()
                if tab is not None:
                    tab.send({"type": "error", "id": tab_id, "message": exc.message})
                return
        self.note(event)
        if tab is not None:
            event = {**event, "origin": tab.number, "id": tab_id}
        self.broadcast(event)

    async def _apply(self, db: Any, op: str, message: dict[str, Any]) -> dict[str, Any]:
        notebook_id = self.notebook_id
        if op == "insert_cell":
            cell = await notebooks.insert_cell(
                db,
                notebook_id,
                message.get("position"),
                message.get("kind") or "code",
                message.get("source") or "",
                message.get("cell_id"),
            )
            return events.cell_inserted(cell)
        if op == "update_cell":
            cell = await notebooks.update_cell(
                db, notebook_id, message["cell_id"], message.get("source"), message.get("kind")
            )
            return events.cell_updated(cell)
        if op == "move_cell":
            cell = await notebooks.move_cell(
                db, notebook_id, message["cell_id"], message["position"]
            )
            return events.cell_moved(cell)
        if op == "delete_cell":
            await notebooks.delete_cell(db, notebook_id, message["cell_id"])
            return events.cell_deleted(message["cell_id"])
        notebook = await notebooks.load(db, notebook_id)
        notebook.title = message["title"][:500]
        await db.flush()
        return events.notebook_updated(notebook)

    def note(self, event: dict[str, Any]) -> None:
        """Keep the cache of stored sources in step with a change (from the bus or REST)."""
        kind = event.get("type")
        if kind == "cell_updated":
            self.sources[event["cell_id"]] = event["source"]
        elif kind == "cell_inserted":
            self.sources[event["cell"]["id"]] = event["cell"]["source"]
        elif kind == "cell_deleted":
            self.sources.pop(event["cell_id"], None)
            self.running.pop(event["cell_id"], None)
        elif kind == "notebook_replaced":
            self.sources.clear()

    # -- the engine -------------------------------------------------------------------------

    async def open_engine(self) -> None:
        """Start the engine ahead of the first evaluation; a failure is told, not raised."""
        with contextlib.suppress(FrontendError):
            await self.ensure_engine()

    async def ensure_engine(self) -> None:
        """An engine for this notebook: the bound one, the one a frontend before this one left
        running (adopted), or a new one if none is or it died."""
        async with self.starting:
            if self.link is not None and self.state not in ("dead", "none"):
                return
            if self.hub.closing:
                raise FrontendError("the frontend is stopping: run the cell again once it is back")
            if self.placement is None and await self._adopt():
                return
            previous, why = self.placement, self.reason
            avoid: frozenset[int] = frozenset()
            if previous is not None:
                if why.startswith("lost the backend"):
                    avoid = frozenset({previous.backend_id})
                else:
                    await self.hub.registry.stop_engine(previous)  # dead: removes its record
                await self._drop_link()
            self.placement = None
            self.set_state("starting")
            try:
                placement = await self.hub.registry.start_engine(
                    self.engine_type, avoid, self.workspace
                )
                link = await connect(
                    placement.bus_url,
                    additional_headers=placement.headers,
                    max_size=None,
                    compression=None,  # small JSON messages: deflate costs more than it saves
                    open_timeout=10,
                    ping_interval=None,  # the frontend notices a lost backend by the socket
                )
            except FrontendError as exc:
                self.set_state("dead", exc.message)
                raise
            except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
                self.set_state("dead", f"could not reach the engine's bus: {exc}")
                raise FrontendError(self.reason) from exc
            self.placement, self.link = placement, link
            if previous is not None and why:
                self.broadcast({"type": "notice", "message": f"a new engine was started ({why})"})
            self.reader = asyncio.create_task(self._read(link), name=f"engine-{self.notebook_id}")
            log.info("notebook %s: engine %s", self.notebook_id, placement)
            await placements.remember(self.hub.sessions, self.notebook_id, placement)

    async def readopt(self) -> None:
        """Bind the engine a frontend before this one left running, if the database names
        one: a tab that opens the notebook sees its state at once, and the backend counts the
        engine as held again (it stops engines nobody holds)."""
        async with self.starting:
            if self.link is None and self.placement is None:
                await self._adopt()

    async def _adopt(self) -> bool:
        """Bind the engine the database says this notebook has, if it is still running (a
        frontend before this one started it); forget the record if it is not."""
        recalled = await placements.recall(self.hub.sessions, self.notebook_id)
        if recalled is None:
            return False
        found = await self.hub.registry.adoptable(*recalled)
        link = None
        if found is not None:
            with contextlib.suppress(OSError, InvalidHandshake, InvalidURI, TimeoutError):
                link = await connect(
                    found[0].bus_url,
                    additional_headers=found[0].headers,
                    max_size=None,
                    compression=None,
                    open_timeout=10,
                    ping_interval=None,
                )
        if found is None or link is None:
            await placements.forget(self.hub.sessions, self.notebook_id, recalled[1])
            return False
        placement, state = found
        self.placement, self.link = placement, link
        self.reader = asyncio.create_task(self._read(link), name=f"engine-{self.notebook_id}")
        self.set_state(state)
        self.broadcast(
            {"type": "notice", "message": "reconnected to the notebook's running engine"}
        )
        log.info("notebook %s: adopted engine %s", self.notebook_id, placement)
        return True

    async def _send_engine(self, message: dict[str, Any]) -> None:
        link = self.link
        if link is None:
            return
        with contextlib.suppress(ConnectionClosed):  # the reader notices and says why
            await link.send(json.dumps(message))

    async def _read(self, link: ClientConnection) -> None:
        try:
            async for text in link:
                self.take_engine_message(text)
        except ConnectionClosed:
            pass
        except Exception:  # a bug here must not leave the notebook hanging silently
            log.exception("notebook %s: engine bus reader failed", self.notebook_id)
        if self.link is link:  # not closed on purpose
            placement = self.placement
            name = placement.backend_name if placement is not None else "?"
            reason = f"lost the backend {name!r}: its connection closed"
            if placement is not None:
                self.hub.registry.mark_unreachable(placement.backend_id, reason)
            self.link = None
            self._fail_all(reason)
            self.set_state("dead", reason)

    def take_engine_message(self, text: str | bytes) -> None:
        """One message from the engine's bus. A malformed one is this engine's doing (user
        code can write to its socket): the evaluation it names fails with why, the reading
        goes on, and the backend stays up for everyone else."""
        message: Any = None
        try:
            message = json.loads(text)
            why = engine_messages.problem(message)
            if why is None:
                self.on_engine_message(message)
                return
        except Exception as exc:  # not JSON, or a message the checks let through and we choke on
            why = f"{type(exc).__name__}: {exc}"
        self._refuse_engine_message(message, why)

    def _refuse_engine_message(self, message: Any, why: str) -> None:
        self.malformed += 1
        if self.malformed == 1 or self.malformed % 1000 == 0:  # one line, not a flood
            log.warning(
                "notebook %s: its engine sent a malformed message (%d so far): %s",
                self.notebook_id,
                self.malformed,
                why,
            )
        request_id = message.get("id") if isinstance(message, dict) else None
        pending = self.pending.pop(request_id, None) if isinstance(request_id, int) else None
        if pending is None:
            return
        said = f"the engine sent a malformed message: {why}"
        if pending.op == "evaluate" and pending.cell_id is not None and pending.outputs is not None:
            self._fail(pending.cell_id, pending.outputs, "EngineError", said)
        elif pending.tab is not None:
            pending.tab.send({"type": "error", "id": pending.tab_id, "message": said})

    def on_engine_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "state":
            state = message.get("state", "dead")
            if state == "dead" and self.restarting:
                return
            if state == "dead":
                self._fail_all(f"the engine died: {message.get('reason', 'unknown')}")
                self.set_state("dead", str(message.get("reason", "")))
            elif state != self.state or self.reason:
                self.set_state(state)
            return
        pending = self.pending.get(message.get("id"))  # type: ignore[arg-type]
        if pending is None:
            if kind == "stream":  # output between evaluations (a background thread)
                self.broadcast({"type": "output", "cell_id": None, "output": _output(message)})
            return
        if pending.op != "evaluate":
            del self.pending[message["id"]]
            if pending.tab is not None:
                if kind == "reply":
                    pending.tab.send(
                        {
                            "type": "reply",
                            "id": pending.tab_id,
                            "op": pending.op,
                            "content": message.get("content", {}),
                        }
                    )
                else:
                    pending.tab.send(
                        {"type": "error", "id": pending.tab_id, "message": message.get("message")}
                    )
            return
        cell_id, outputs = pending.cell_id, pending.outputs
        assert cell_id is not None and outputs is not None
        current = self.running.get(cell_id) is outputs
        if kind in ("stream", "display"):
            output = _output(message)
            if current:
                outputs.add(output)
            self.broadcast({"type": "output", "cell_id": cell_id, "output": output})
        elif kind == "input_request":
            self.broadcast(
                {
                    "type": "input_request",
                    "cell_id": cell_id,
                    "prompt": message.get("prompt", ""),
                    "password": bool(message.get("password")),
                }
            )
        elif kind == "result":
            del self.pending[message["id"]]
            error = message.get("error")
            if error and current:
                outputs.error(error["ename"], error["evalue"], error.get("traceback", ""))
            outputs.execution_count = message.get("input_count")
            outputs.dirty = outputs.finished = True
            event: dict[str, Any] = {
                "type": "result",
                "cell_id": cell_id,
                "execution_count": outputs.execution_count,
            }
            if error:
                event["error"] = {
                    "ename": error["ename"],
                    "evalue": error["evalue"],
                    "traceback": error.get("traceback", ""),
                }
            self.broadcast(event)
        elif kind == "error":
            del self.pending[message["id"]]
            self._fail(cell_id, outputs, "EngineError", str(message.get("message", "")))

    def _fail(self, cell_id: str, outputs: CellOutputs, ename: str, why: str) -> None:
        """An evaluation that the engine will never answer: the cell says why."""
        if self.running.get(cell_id) is outputs:
            outputs.error(ename, why, "")
        outputs.finished = True
        error = {"ename": ename, "evalue": why, "traceback": ""}
        self.broadcast(
            {"type": "result", "cell_id": cell_id, "execution_count": None, "error": error}
        )

    def _fail_all(self, why: str) -> None:
        for request_id, pending in list(self.pending.items()):
            del self.pending[request_id]
            if pending.op == "evaluate" and pending.cell_id and pending.outputs:
                self._fail(pending.cell_id, pending.outputs, "EngineDied", why)
            elif pending.tab is not None and pending.op != "evaluate":
                pending.tab.send({"type": "error", "id": pending.tab_id, "message": why})

    async def _drop_link(self) -> None:
        link, reader = self.link, self.reader
        self.link = self.reader = None
        if link is not None:
            with contextlib.suppress(Exception):
                await link.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def stop_engine(self, reason: str) -> None:
        """Stop the bound engine (if any) and say so."""
        placement = self.placement
        self.placement = None
        await self._drop_link()
        self._fail_all(f"the engine was {reason}")
        if placement is not None:
            await self.hub.registry.stop_engine(placement)
            await placements.forget(self.hub.sessions, self.notebook_id, placement.engine_id)
            self.set_state("none", reason)

    async def leave_engine(self) -> None:
        """Let go of the engine without stopping it (this frontend stops): the next frontend
        on this database adopts it, variables and all."""
        self.placement = None
        await self._drop_link()
        self._fail_all("the frontend stopped: run the cell again to see its result")

    # -- storing outputs --------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return any(p.op == "evaluate" for p in self.pending.values())

    async def flush(self) -> None:
        """Write every running cell's new outputs; forget the cells that finished."""
        dirty = [(cell_id, out) for cell_id, out in self.running.items() if out.dirty]
        if not dirty:
            return
        for _, outputs in dirty:
            outputs.dirty = False
        async with self.hub.sessions() as db:
            await notebooks.lock(db, self.notebook_id)  # writers of one notebook take turns
            for cell_id, outputs in dirty:
                await notebooks.set_outputs(
                    db, cell_id, list(outputs.items), outputs.execution_count
                )
            await db.commit()
        for cell_id, outputs in dirty:
            if outputs.finished and not outputs.dirty and self.running.get(cell_id) is outputs:
                del self.running[cell_id]

    @property
    def unused(self) -> bool:
        """Nothing to keep this session for: no tab, no engine, nothing left to store."""
        return not self.tabs and self.link is None and not self.running


def _output(message: dict[str, Any]) -> dict[str, Any]:
    if message["type"] == "stream":
        return {
            "type": "stream",
            "name": message.get("name", "stdout"),
            "text": message.get("text", ""),
        }
    return {"type": "display", "data": message.get("data", {})}


def _summary(op: str, message: dict[str, Any], notebook: Any) -> str:
    if op == "rename":
        return f"renamed to {message['title'][:80]!r}"
    if op == "insert_cell":
        return "inserted a cell"
    if op == "delete_cell":
        return "deleted a cell"
    if op == "move_cell":
        return "moved a cell"
    position = next((c.position for c in notebook.cells if c.id == message["cell_id"]), None)
    return f"edited cell {position + 1}" if position is not None else "edited a cell"
