"""The registry of backends: which are healthy, what engine types they offer, where to start
an engine, and the engine operations on them.

The backends come from the database (``backends`` table). Every *interval* seconds the registry
reads the table again (a backend added by ``codenode backends add``, or on another frontend,
shows up by itself) and checks every backend at once: GET /health and GET /engine-types.
Between checks, a call that finds a backend down marks it so, and placement skips it until a
check finds it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codenode.frontend.backends.client import BackendClient, BackendFailure
from codenode.frontend.backends.health import BackendState
from codenode.frontend.backends.placement import Placement, ranked, unavailable_message
from codenode.frontend.db import Backend
from codenode.frontend.errors import NotFound, Unavailable

__all__ = ["BackendRegistry", "Placement"]

log = logging.getLogger("codenode.frontend.backends")


class BackendRegistry:
    """Backends from the database, health-checked every *interval* seconds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        interval: float,
        client: BackendClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.client = client or BackendClient()
        self.backends: dict[int, BackendState] = {}
        self._refreshing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # --- keeping the list and its health --------------------------------------------------

    async def start(self) -> None:
        """Load the backends and check them once; then keep checking in the background."""
        await self.refresh()
        self._task = asyncio.create_task(self._keep_checking(), name="backend health checks")

    async def close(self) -> None:
        """Stop checking; close connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.client.close()

    async def refresh(self) -> None:
        """Reload the backends from the database and check each now."""
        async with self._refreshing:
            async with self.sessions() as db:
                rows = (await db.execute(select(Backend))).scalars().all()
            self._reload(rows)
            await asyncio.gather(*(self._check(state) for state in list(self.backends.values())))

    def _reload(self, rows: Any) -> None:
        fresh: dict[int, BackendState] = {}
        for row in rows:
            known = self.backends.get(row.id)
            if known is not None and (known.url, known.token) == (row.url, row.token):
                known.name = row.name
                fresh[row.id] = known
            else:
                fresh[row.id] = BackendState(row.id, row.name, row.url, row.token)
        for gone in self.backends.keys() - fresh.keys():
            log.info("backend %s is no longer registered", self.backends[gone].name)
        self.backends = fresh

    async def _check(self, state: BackendState) -> None:
        started_before = state.started
        was = state.healthy, state.reason
        try:
            health, listing = await self.client.check(state.url, state.token)
        except BackendFailure as failure:
            state.failed(failure.reason)
        else:
            state.passed(health, listing, started_before)
        if (state.healthy, state.reason) != was:
            if state.healthy:
                log.info("backend %s is healthy (%s)", state.name, ", ".join(sorted(state.types)))
            else:
                log.warning("backend %s is down: %s", state.name, state.reason)

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception:  # a database hiccup must not end the checks for good
                log.exception("checking the backends failed; trying again in %ss", self.interval)

    def mark_unreachable(self, backend_id: int, reason: str) -> None:
        """The bus lost this backend: treat it as unhealthy until the next check says otherwise."""
        state = self.backends.get(backend_id)
        if state is not None and (state.healthy or state.reason != reason):
            state.failed(reason)
            log.warning("backend %s is down: %s", state.name, reason)

    # --- what there is --------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Every registered backend by name, with its health, load and engine types."""
        return [state.describe() for state in sorted(self.backends.values(), key=_by_name)]

    def engine_types(self) -> list[dict[str, Any]]:
        """Engine types offered by healthy backends: name, description, backends offering it."""
        types: dict[str, dict[str, Any]] = {}
        for state in sorted(self.backends.values(), key=_by_name):
            if not state.healthy:
                continue
            for name, description in state.types.items():
                entry = types.setdefault(name, {"name": name, "description": "", "backends": []})
                entry["description"] = entry["description"] or description
                entry["backends"].append(state.name)
        return [types[name] for name in sorted(types)]

    def named(self, name: str) -> BackendState:
        """The registered backend called *name*."""
        for state in self.backends.values():
            if state.name == name:
                return state
        raise NotFound(f"no backend named {name!r}")

    # --- engines --------------------------------------------------------------------------

    async def start_engine(
        self, engine_type: str, avoid: frozenset[int] = frozenset(), workspace: str | None = None
    ) -> Placement:
        """Start an engine of *engine_type* on the least-loaded healthy backend offering it
        (not one of the backend ids in *avoid*, unless it is the only one), working in the
        backend's folder for *workspace* (an opaque key: docs/files.md)."""
        body = (
            {"type": engine_type}
            if workspace is None
            else {"type": engine_type, "workspace": workspace}
        )
        refusals: dict[str, str] = {}
        candidates = ranked(self.backends.values(), engine_type, avoid)
        if not candidates:  # all down at the last check: one may be back since (restarted)
            await self.refresh()
            candidates = ranked(self.backends.values(), engine_type, avoid)
        for state in candidates:
            # Counted before the call: starts that run at the same time spread out.
            state.started += 1
            try:
                engine = await self.client.call(
                    "POST", state.url, state.token, "/engines", json=body
                )
                engine_id = engine["id"]
            except BackendFailure as failure:
                state.started -= 1
                refusals[state.name] = failure.reason
                if failure.unreachable:
                    self.mark_unreachable(state.id, failure.reason)
                continue
            except (TypeError, KeyError):
                state.started -= 1
                refusals[state.name] = "not a Codenode backend (no engine id in its answer)"
                continue
            log.info("engine %s (%s) started on backend %s", engine_id, engine_type, state.name)
            return Placement(state.id, state.name, state.url, state.token, str(engine_id))
        raise Unavailable(unavailable_message(self.backends.values(), engine_type, refusals))

    async def stop_engine(self, placement: Placement, missing_ok: bool = True) -> None:
        """Stop the engine; quietly done if it or its backend is gone (unless not
        *missing_ok*: then an unknown engine is NotFound)."""
        try:
            await self._engine_call(placement, "DELETE", "")
        except NotFound:
            if not missing_ok:
                raise
        except Unavailable:
            if not missing_ok:
                raise
            return  # the backend is down: its engines died with it, or it will stop them
        state = self.backends.get(placement.backend_id)
        if state is not None:
            state.started -= 1

    async def interrupt(self, placement: Placement) -> None:
        """Interrupt what the engine runs."""
        await self._engine_call(placement, "POST", "/interrupt")

    async def restart(self, placement: Placement) -> None:
        """A fresh process under the same engine id."""
        await self._engine_call(placement, "POST", "/restart")

    async def engines(self, name: str) -> list[dict[str, Any]]:
        """The engines running on the backend called *name*, as it lists them."""
        state = self.named(name)
        try:
            listing = await self.client.call("GET", state.url, state.token, "/engines")
        except BackendFailure as failure:
            raise self._failed(state.id, state.name, failure) from None
        engines = listing.get("engines") if isinstance(listing, dict) else None
        return [engine for engine in engines or [] if isinstance(engine, dict)]

    async def adoptable(self, backend_id: int, engine_id: str) -> tuple[Placement, str] | None:
        """An engine some frontend started, if its backend is up and it is alive there: its
        placement and its state (idle or busy)."""
        state = self.backends.get(backend_id)
        if state is None or not state.healthy:
            return None
        placement = Placement(state.id, state.name, state.url, state.token, engine_id)
        try:
            described = await self._engine_call(placement, "GET", "")
        except (NotFound, Unavailable):
            return None
        engine_state = described.get("state") if isinstance(described, dict) else None
        if engine_state not in ("idle", "busy"):
            return None
        state.started += 1  # counted in its load, as an engine started here is
        return placement, str(engine_state)

    def placement(self, name: str, engine_id: str) -> Placement:
        """An engine on the backend called *name*, for the engine operations above."""
        state = self.named(name)
        return Placement(state.id, state.name, state.url, state.token, engine_id)

    async def _engine_call(self, placement: Placement, method: str, action: str) -> Any:
        try:
            return await self.client.call(
                method,
                placement.url,
                placement.token,
                f"/engines/{quote(placement.engine_id, safe='')}{action}",
            )
        except BackendFailure as failure:
            raise self._failed(placement.backend_id, placement.backend_name, failure) from None

    def _failed(self, backend_id: int, name: str, failure: BackendFailure) -> Exception:
        """The frontend error for a failed call; a backend found down is marked so."""
        if failure.status == 404:
            return NotFound(f"{failure.reason.removeprefix('404: ')} (backend {name!r})")
        if failure.unreachable:
            self.mark_unreachable(backend_id, failure.reason)
            return Unavailable(f"backend {name!r} is down: {failure.reason}")
        return Unavailable(f"backend {name!r} refused: {failure.reason}")


def _by_name(state: BackendState) -> str:
    return state.name
