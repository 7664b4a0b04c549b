"""Pre-started engines, per engine type, so that asking for one costs no start time."""

from __future__ import annotations

import asyncio
import logging

from codenode.backend.cgroups import Cgroups
from codenode.backend.engines import Engine, Launcher
from codenode.backend.enginetype import EngineType
from codenode.backend.errors import BackendError
from codenode.backend.launch import launch

log = logging.getLogger("codenode.backend")


class Pool:
    """Keeps ``engine_type.pool`` ready engines of each type; hands them out one at a time."""

    def __init__(self, cgroups: Cgroups | None = None, launcher: Launcher = launch) -> None:
        self.cgroups = cgroups
        self.launcher = launcher
        self._ready: dict[str, list[Engine]] = {}
        self._filling: dict[str, asyncio.Task[None]] = {}
        self._stopping: set[asyncio.Task[None]] = set()  # kept so they are not collected early

    def take(self, engine_type: EngineType) -> Engine | None:
        """A ready engine started from exactly this declaration, or None."""
        ready = self._ready.get(engine_type.name, [])
        while ready:
            engine = ready.pop(0)
            if engine.state == "idle" and engine.type == engine_type:
                return engine
            self._stop_later(engine)
        return None

    def _stop_later(self, engine: Engine) -> None:
        task = asyncio.create_task(engine.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    def fill(self, engine_type: EngineType, delay: float = 0.0) -> None:
        """Start engines in the background until the type's pool is full."""
        task = self._filling.get(engine_type.name)
        if task is not None and not task.done():
            return
        self._filling[engine_type.name] = asyncio.create_task(self._fill(engine_type, delay))

    async def _fill(self, engine_type: EngineType, delay: float) -> None:
        # Starting a process holds up the event loop for a few ms: after handing out an engine,
        # wait until its client has connected and sent its first request.
        await asyncio.sleep(delay)
        ready = self._ready.setdefault(engine_type.name, [])
        # A changed declaration replaces the engines started from the old one.
        for stale in [engine for engine in ready if engine.type != engine_type]:
            ready.remove(stale)
            await stale.stop()
        while len(ready) < engine_type.pool:
            engine = Engine(engine_type, self.cgroups, self.launcher)
            try:
                await engine.start()
            except (BackendError, OSError) as exc:
                log.warning("pool for %s: %s", engine_type.name, exc)
                return
            ready.append(engine)

    def forget(self, keep: set[str]) -> None:
        """Stop ready engines of types that are gone or have no pool any more."""
        for name in list(self._ready):
            if name not in keep:
                for engine in self._ready.pop(name):
                    self._stop_later(engine)

    def engines(self) -> list[Engine]:
        """Every ready engine."""
        return [engine for ready in self._ready.values() for engine in ready]

    async def close(self) -> None:
        """Stop filling and stop every ready engine."""
        for task in self._filling.values():
            task.cancel()
        await asyncio.gather(*(engine.stop() for engine in self.engines()))
        self._ready.clear()
