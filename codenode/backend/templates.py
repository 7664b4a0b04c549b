"""The backend's templates: one warm process per templated engine type, kept running.

A template that dies is started again; one whose declaration changed is replaced, and the
engines it forked are left running. Engines of a type whose template cannot run are started by
exec. See docs/templates.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codenode.backend.enginetype import EngineType
from codenode.backend.errors import EngineStartError
from codenode.backend.forked import become_subreaper, pidfds_work, reap_strays
from codenode.backend.launch import Launched, launch
from codenode.backend.sandboxes import Sandbox, Sandboxes
from codenode.backend.template import Template, TemplateError

log = logging.getLogger("codenode.backend")
RESTART_DELAYS = (0.2, 1.0, 2.0, 5.0, 10.0, 30.0)  # after a template's death or failed start
STRAY_SECONDS = 5.0  # between looks for orphaned zombies
NO_PIDFDS = "this kernel has no pidfds (Linux >= 5.3): engines are started by exec"
NOT_ROOT = (
    "sandboxed engines are forked from templates only when the backend runs as root:"
    " engines are started by exec"
)


class Templates:
    """The backend's templates, one per templated engine type, kept running."""

    def __init__(self, sandboxes: Sandboxes | None = None) -> None:
        self.sandboxes = sandboxes
        self._current: dict[str, Template] = {}
        self._keepers: dict[str, tuple[EngineType, asyncio.Task[None]]] = {}
        self._problems: dict[str, str] = {}  # type name -> why its template is not running
        self._started: dict[str, asyncio.Event] = {}  # type name -> set once it has started
        self._reaper: asyncio.Task[None] | None = None
        self._ended: list[Template] = []  # templates that ran, whose dropped spares to reap
        self._dropped: list[int] = []

    def sync(self, engine_types: Sequence[EngineType]) -> None:
        """Keep a template for exactly these declarations; replace changed ones, end the rest."""
        wanted = {t.name: t for t in engine_types if t.templated}
        for name in [name for name in self._problems if name not in wanted]:
            del self._problems[name]  # the type is gone, or no longer templated
        if os.geteuid() != 0:
            # A template in a user namespace cannot go back to the host's PID namespace after
            # forking a spare into a new one: sandboxed engines start by exec there.
            for name in [n for n, t in wanted.items() if t.sandbox]:
                del wanted[name]
                self._problems[name] = NOT_ROOT
        if wanted and not pidfds_work():
            for name in wanted:
                self._problems[name] = NO_PIDFDS
            return
        if wanted and self._reaper is None:
            become_subreaper()
            self._reaper = asyncio.create_task(self._reap_strays())
        for name, (engine_type, task) in list(self._keepers.items()):
            if wanted.get(name) != engine_type:
                task.cancel()
                del self._keepers[name]
        for name, engine_type in wanted.items():
            if name not in self._keepers:
                self._started[name] = asyncio.Event()
                task = asyncio.create_task(self._keep(engine_type), name=f"template {name}")
                self._keepers[name] = (engine_type, task)

    async def _reap_strays(self) -> None:
        while True:
            await asyncio.sleep(STRAY_SECONDS)
            for template in self._ended:
                self._dropped.extend(template.dropped_spares)
                template.dropped_spares.clear()
            self._ended = [t for t in self._ended if t.state != "dead"]
            try:
                await asyncio.to_thread(reap_strays, self._dropped)
            except Exception:
                log.exception("reaping orphaned processes failed")

    async def _keep(self, engine_type: EngineType) -> None:
        """Run a template for the declaration until cancelled, starting it again if it dies."""
        failures = 0
        template: Template | None = None
        try:
            while True:
                template = Template(engine_type, self.sandboxes)
                self._ended.append(template)
                try:
                    await template.start()
                except (EngineStartError, OSError) as exc:
                    if self._problems.get(engine_type.name) != str(exc):  # said once
                        log.warning("template %s: %s", engine_type.name, exc)
                    self._problems[engine_type.name] = str(exc)
                    self._started[engine_type.name].set()  # no use waiting for it
                else:
                    if template.usable:
                        self._problems.pop(engine_type.name, None)
                    else:
                        threads = template.ready.get("threads")
                        self._problems[engine_type.name] = (
                            f"the template runs {threads} threads after preloading, so it"
                            " cannot fork safely: engines are started by exec"
                        )
                        log.warning(
                            "template %s: %s", engine_type.name, self._problems[engine_type.name]
                        )
                    old = self._current.get(engine_type.name)
                    self._current[engine_type.name] = template
                    self._started[engine_type.name].set()
                    if old is not None and old is not template:
                        await old.close()
                    failures = 0
                    await template.died.wait()
                delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
                failures += 1
                await asyncio.sleep(delay)
        finally:
            if template is not None:
                if self._current.get(engine_type.name) is template:
                    del self._current[engine_type.name]
                # Closing waits for the process: shielded, so that cancelling the keeper
                # still ends its template.
                await asyncio.shield(template.close())

    async def launch(
        self,
        engine_type: EngineType,
        cgroup_procs: Sequence[Path] = (),
        memory_in_cgroup: bool = False,
        sandbox: Sandbox | None = None,
    ) -> Launched:
        """An engine of the type: forked from its template if it has one, else started.

        While a template is still starting (the backend just started, the plug-in changed),
        waiting for it is worth it: it takes no longer than the engine's own start would.
        """
        started = self._started.get(engine_type.name)
        if engine_type.templated and started is not None and not started.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(started.wait(), engine_type.start_timeout)
        template = self._current.get(engine_type.name)
        if template is not None and template.type == engine_type and template.usable:
            try:
                return await template.fork(engine_type, cgroup_procs, memory_in_cgroup, sandbox)
            except TemplateError as exc:
                self._problems[engine_type.name] = f"{exc}: the engine was started by exec"
                log.warning("template %s: %s", engine_type.name, self._problems[engine_type.name])
        return await launch(engine_type, cgroup_procs, memory_in_cgroup, sandbox)

    def describe(self, name: str) -> dict[str, Any] | None:
        """The template of a type as listed, or None for a type that has none."""
        if name not in self._keepers:
            problem = self._problems.get(name)
            return (
                {"state": "none", "problem": problem} if problem in (NO_PIDFDS, NOT_ROOT) else None
            )
        template = self._current.get(name)
        info = template.describe() if template is not None else {"state": "starting"}
        if name in self._problems:
            info["problem"] = self._problems[name]
        return info

    async def close(self) -> None:
        """End every template (engines are stopped by their own owners)."""
        tasks = [task for _, task in self._keepers.values()]
        if self._reaper is not None:
            tasks.append(self._reaper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._keepers.clear()
