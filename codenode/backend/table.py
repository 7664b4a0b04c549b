"""The engines of one backend: start one of a type (from the pool, a template or exec), find,
stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from codenode.backend.cgroups import Cgroups
from codenode.backend.engines import Engine
from codenode.backend.errors import EngineTypeUnavailable, UnknownEngine, UnknownEngineType
from codenode.backend.plugins import PluginFolder
from codenode.backend.pool import Pool
from codenode.backend.sandboxes import Sandboxes
from codenode.backend.templates import Templates
from codenode.backend.workspaces import Workspaces

log = logging.getLogger("codenode.backend")
REFILL_DELAY = 0.5  # seconds from handing out a pooled engine to starting its replacement
DEFAULT_WORKSPACE = "default"  # for engines started without one (by an admin, say)


class EngineTable:
    """Every engine handed out by this backend, by id, dead ones included until stopped."""

    def __init__(
        self,
        plugins: PluginFolder,
        cgroups: Cgroups | None = None,
        workspaces: Workspaces | None = None,
        hidden: Sequence[Path] = (),
    ) -> None:
        self.plugins = plugins
        self.cgroups = cgroups
        if workspaces is None:
            workspaces = Workspaces(plugins.folder.parent / "workspaces")
        self.sandboxes = Sandboxes(workspaces, [plugins.folder, *hidden])
        self.templates = Templates(self.sandboxes)
        self.pool = Pool(cgroups, self.templates.launch)
        self.engines: dict[str, Engine] = {}
        self.starts: Counter[str] = Counter()
        self.deaths: Counter[str] = Counter()
        self._evaluations_of_stopped: Counter[str] = Counter()
        self._told_unsandboxed: set[str] = set()

    def refill(self) -> None:
        """Templates and pools for the available types as declared now (the plug-ins changed)."""
        available = [d.type for d in self.plugins.types().values() if d.available]
        for engine_type in available:
            if not engine_type.sandbox and engine_type.name not in self._told_unsandboxed:
                self._told_unsandboxed.add(engine_type.name)
                log.warning(
                    "engine type %s is unsandboxed (sandbox=False): its engines see this"
                    " machine as the backend's own user does",
                    engine_type.name,
                )
        self.templates.sync(available)
        pooled = set()
        for declared in self.plugins.types().values():
            # A pooled engine is started before anyone names its workspace: only unsandboxed
            # types keep pools (sandboxed ones are templated, which is faster anyway).
            if declared.available and declared.type.pool > 0 and not declared.type.sandbox:
                pooled.add(declared.type.name)
                self.pool.fill(declared.type)
        self.pool.forget(pooled)

    async def start(self, type_name: str, workspace: str | None = None) -> Engine:
        """A ready engine of the type, working in workspace (sandboxed types): from the pool,
        or started now."""
        declared = self.plugins.get(type_name)
        if declared is None:
            raise UnknownEngineType(type_name)
        if not declared.available:
            raise EngineTypeUnavailable(type_name, declared.reason or "unknown reason")
        engine_type = declared.type
        sandbox = None
        if engine_type.sandbox:
            key = DEFAULT_WORKSPACE if workspace is None else workspace
            sandbox = self.sandboxes.for_engine(engine_type, key)
            if engine_type.limits.workspace_mb:
                await asyncio.to_thread(
                    self.sandboxes.workspaces.limit,
                    sandbox.workspace,
                    engine_type.limits.workspace_mb,
                    f"engine type {engine_type.name}",
                )
        engine = None if engine_type.sandbox else self.pool.take(engine_type)
        if engine is None:
            engine = Engine(engine_type, self.cgroups, self.templates.launch, sandbox)
            await engine.start()
        if engine_type.pool > 0 and not engine_type.sandbox:
            self.pool.fill(declared.type, delay=REFILL_DELAY)
        self.engines[engine.id] = engine
        self.starts[type_name] += 1
        engine.on_death = self._count_death
        return engine

    def largest_workspace_mb(self) -> int | None:
        """The largest workspace limit of this backend's sandboxed types (file routes give a
        workspace that size, so that what is uploaded before any engine starts is bounded)."""
        sizes = [
            declared.type.limits.workspace_mb
            for declared in self.plugins.types().values()
            if declared.type.sandbox and declared.type.limits.workspace_mb
        ]
        return max(sizes, default=None)

    async def stop_orphans(self, grace: float) -> list[str]:
        """Stop the engines no bus client has held for grace seconds (their frontend died, or
        left them and none adopted them); their ids."""
        now = time.monotonic()
        orphans = [
            engine
            for engine in self.engines.values()
            if engine.unwatched_since is not None and now - engine.unwatched_since >= grace
        ]
        for engine in orphans:
            log.info(
                "engine %s (%s) stopped: no frontend held it for %.0f s",
                engine.id,
                engine.type.name,
                now - (engine.unwatched_since or now),
            )
            await self.stop(engine.id)
        return [engine.id for engine in orphans]

    def _count_death(self, engine: Engine) -> None:
        self.deaths[engine.type.name] += 1

    def get(self, engine_id: str) -> Engine:
        """The engine with that id, or UnknownEngine."""
        engine = self.engines.get(engine_id)
        if engine is None:
            raise UnknownEngine(engine_id)
        return engine

    async def stop(self, engine_id: str) -> None:
        """Stop the engine's process and forget it."""
        engine = self.get(engine_id)
        await engine.stop()
        self.engines.pop(engine_id, None)
        self._evaluations_of_stopped[engine.type.name] += engine.evaluations

    def evaluations(self) -> Counter[str]:
        """Evaluations requested, by engine type, over the backend's life."""
        counts = Counter(self._evaluations_of_stopped)
        for engine in self.engines.values():
            counts[engine.type.name] += engine.evaluations
        return counts

    async def close(self) -> None:
        """Stop everything: handed-out engines and the pool."""
        await asyncio.gather(
            self.pool.close(), *(engine.stop() for engine in self.engines.values())
        )
        self.engines.clear()
        await self.templates.close()
        if self.cgroups is not None:
            self.cgroups.close()
