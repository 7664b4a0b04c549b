"""A notebook's link to its engine: which engine it is (on which backend), the connection to
its bus, its state as the tabs are told it, and the requests it has yet to answer.

The engine is started when the notebook first needs one, adopted when a frontend before this
one left it running (``adoption``), replaced when it died or its backend was lost, and let go
of (not stopped) when this frontend stops. What the engine says is handled in ``replies``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from codenode.frontend.backends.registry import Placement
from codenode.frontend.bus import placements, replies
from codenode.frontend.bus.adoption import adopt
from codenode.frontend.bus.dial import FAILURES, dial
from codenode.frontend.bus.requests import Pending, Requests
from codenode.frontend.bus.tab import Tabs
from codenode.frontend.errors import FrontendError
from codenode.protocol import jsontext

if TYPE_CHECKING:
    from codenode.frontend.bus.hub import Hub

log = logging.getLogger("codenode.frontend.bus")


class EngineLink:
    """The engine of one notebook, as this frontend holds it."""

    def __init__(
        self, hub: Hub, notebook_id: str, engine_type: str, workspace: str, tabs: Tabs
    ) -> None:
        self.hub = hub
        self.notebook_id = notebook_id
        self.engine_type = engine_type
        self.workspace = workspace  # the owner's: the engine's files are the owner's
        self.tabs = tabs
        self.placement: Placement | None = None
        self.connection: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.state = "none"  # none | starting | idle | busy | dead
        self.reason = ""
        self.backend_lost = False  # dead because its backend's connection closed
        self.requests = Requests()
        self.malformed = 0  # messages refused from the engine (logged once, then by thousands)
        self.restarting = False  # the old process's death is part of the restart
        self.starting = asyncio.Lock()

    # -- state ------------------------------------------------------------------------------

    def event(self) -> dict[str, Any]:
        """The engine's state as tabs get it."""
        event: dict[str, Any] = {"type": "engine", "state": self.state}
        if self.reason:
            event["reason"] = self.reason
        if self.placement is not None:
            event["backend"] = self.placement.backend_name
        return event

    def set_state(self, state: str, reason: str = "", backend_lost: bool = False) -> None:
        """The engine is now in *state*; every tab is told."""
        self.state, self.reason, self.backend_lost = state, reason, backend_lost
        self.tabs.broadcast(self.event())

    def fail_all(self, why: str) -> None:
        """No request will be answered: each ends with *why*."""
        self.requests.fail_all(self.tabs, why)

    # -- having one -------------------------------------------------------------------------

    async def ensure(self) -> None:
        """An engine for this notebook: the bound one, the one a frontend before this one left
        running (adopted), or a new one if none is or it died."""
        async with self.starting:
            if self.connection is not None and self.state not in ("dead", "none"):
                return
            if self.hub.closing:
                raise FrontendError("the frontend is stopping: run the cell again once it is back")
            if self.placement is None and await self._adopt():
                return
            previous, why = self.placement, self.reason
            avoid: frozenset[int] = frozenset()
            if previous is not None:
                if self.backend_lost:
                    avoid = frozenset({previous.backend_id})
                else:
                    await self.hub.registry.stop_engine(previous)  # dead: removes its record
                await self._drop_connection()
            self.placement = None
            self.set_state("starting")
            placement, connection = await self._start(avoid)
            self._bind(placement, connection)
            if previous is not None and why:
                notice = f"a new engine was started ({why})"
                self.tabs.broadcast({"type": "notice", "message": notice})
            log.info("notebook %s: engine %s", self.notebook_id, placement)
            await placements.remember(self.hub.sessions, self.notebook_id, placement)

    async def _start(self, avoid: frozenset[int]) -> tuple[Placement, ClientConnection]:
        """A new engine (on a backend not in *avoid*) and its bus; dead, and said why, if not."""
        try:
            placement = await self.hub.registry.start_engine(
                self.engine_type, avoid, self.workspace
            )
            return placement, await dial(placement)
        except FrontendError as exc:
            self.set_state("dead", exc.message)
            raise
        except FAILURES as exc:
            self.set_state("dead", f"could not reach the engine's bus: {exc}")
            raise FrontendError(self.reason) from exc

    async def readopt(self) -> None:
        """Bind the engine a frontend before this one left running, if the database names
        one: a tab that opens the notebook sees its state at once, and the backend counts the
        engine as held again (it stops engines nobody holds)."""
        async with self.starting:
            if self.connection is None and self.placement is None:
                await self._adopt()

    async def _adopt(self) -> bool:
        adopted = await adopt(self.hub.sessions, self.hub.registry, self.notebook_id)
        if adopted is None:
            return False
        self._bind(adopted.placement, adopted.connection)
        self.set_state(adopted.state)
        self.tabs.broadcast(
            {"type": "notice", "message": "reconnected to the notebook's running engine"}
        )
        log.info("notebook %s: adopted engine %s", self.notebook_id, adopted.placement)
        return True

    def _bind(self, placement: Placement, connection: ClientConnection) -> None:
        self.placement, self.connection = placement, connection
        self.reader = asyncio.create_task(self._read(connection), name=f"engine-{self.notebook_id}")

    # -- talking to it ----------------------------------------------------------------------

    async def ask(self, pending: Pending, message: dict[str, Any]) -> None:
        """Send a request whose answer *pending* waits for."""
        await self.send({"id": self.requests.add(pending), **message})

    async def send(self, message: dict[str, Any]) -> None:
        """Send to the engine, if one is bound (a closed connection is the reader's to notice)."""
        connection = self.connection
        if connection is None:
            return
        with contextlib.suppress(ConnectionClosed):  # the reader notices and says why
            await connection.send(jsontext.encode(message))

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for text in connection:
                replies.take(self, text)
        except ConnectionClosed:
            pass
        except Exception:  # a bug here must not leave the notebook hanging silently
            log.exception("notebook %s: engine bus reader failed", self.notebook_id)
        if self.connection is connection:  # not closed on purpose
            self._lost()

    def _lost(self) -> None:
        """The backend's connection closed under the engine: the next one starts elsewhere."""
        placement = self.placement
        name = placement.backend_name if placement is not None else "?"
        reason = f"lost the backend {name!r}: its connection closed"
        if placement is not None:
            self.hub.registry.mark_unreachable(placement.backend_id, reason)
        self.connection = None
        self.fail_all(reason)
        self.set_state("dead", reason, backend_lost=True)

    # -- control ----------------------------------------------------------------------------

    async def control(self, op: str) -> None:
        """interrupt / restart / stop the engine (from the bus or the API)."""
        placement = self.placement
        if placement is None or self.connection is None:
            return
        if op == "interrupt":
            await self.hub.registry.interrupt(placement)
        elif op == "restart":
            await self._restart(placement)
        elif op == "stop":
            await self.stop("stopped")

    async def _restart(self, placement: Placement) -> None:
        self.fail_all("the engine was restarted")
        self.restarting = True
        self.set_state("starting", "restarting")
        try:
            await self.hub.registry.restart(placement)
        finally:
            self.restarting = False
        if self.connection is not None and self.state == "starting":
            self.set_state("idle")

    async def stop(self, reason: str) -> None:
        """Stop the bound engine (if any) and say so."""
        placement = self.placement
        self.placement = None
        await self._drop_connection()
        self.fail_all(f"the engine was {reason}")
        if placement is not None:
            await self.hub.registry.stop_engine(placement)
            await placements.forget(self.hub.sessions, self.notebook_id, placement.engine_id)
            self.set_state("none", reason)

    async def leave(self) -> None:
        """Let go of the engine without stopping it (this frontend stops): the next frontend
        on this database adopts it, variables and all."""
        self.placement = None
        await self._drop_connection()
        self.fail_all("the frontend stopped: run the cell again to see its result")

    async def _drop_connection(self) -> None:
        connection, reader = self.connection, self.reader
        self.connection = self.reader = None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
