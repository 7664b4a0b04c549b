"""The plug-in folder: engine types declared in plain Python files, followed while the backend runs.

Every ``*.py`` file in the folder (not those starting with ``_`` or ``.``) is run, and each
``EngineType`` it leaves at top level is one engine type. A broken file becomes a
``PluginError`` (file, line, message) in the listing and one line in the log; it never stops
the other files. Each type is checked for whether it can run here (its ``bin``, its working
directory, the modules it ``requires``) and is listed unavailable, with the reason, if not.
See docs/plugins.md.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchfiles import awatch

from codenode.backend.availability import why_unavailable
from codenode.backend.enginetype import EngineType

LOAD_SECONDS = 10.0  # a plug-in file still running after this is reported broken
DEBOUNCE_MS, STEP_MS = 300, 50  # a burst of writes (an editor saving) is one reload
TICK_MS = 500  # between comparisons of the folder with what was loaded, events or not
ABSENT_POLL_SECONDS = 0.25  # while the folder does not exist

# What was loaded, to notice changes that no event announced: (name, mtime, size, inode).
Snapshot = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True)
class PluginError:
    """One broken plug-in file and what is wrong with it."""

    file: str  # relative to the folder
    line: int | None
    message: str  # "SyntaxError: invalid syntax", "DeclarationError: pool must be ..."

    def as_dict(self) -> dict[str, Any]:
        """The error as the listing shows it."""
        return {"file": self.file, "line": self.line, "message": self.message}

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Declared:
    """One engine type as loaded: where it comes from and whether it can run here."""

    type: EngineType
    file: str
    available: bool
    reason: str | None = None  # why it is unavailable

    def as_dict(self) -> dict[str, Any]:
        """The type as the listing shows it."""
        shown = {**self.type.summary(), "available": self.available, "file": self.file}
        if self.reason is not None:
            shown["reason"] = self.reason
        return shown


# One file's outcome: its types with the line binding each, its error, or None if it vanished.
FileResult = list[tuple[EngineType, int | None]] | PluginError | None


class PluginFolder:
    """The engine types of one plug-in folder; ``watch()`` keeps them current."""

    def __init__(
        self,
        folder: Path,
        *,
        on_change: Callable[[], None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.on_change = on_change  # called after a reload that changed a declaration
        self.log = logger or logging.getLogger(__name__)
        self._types: dict[str, Declared] = {}
        self._errors: list[PluginError] = []
        self._snapshot: Snapshot | None = ()  # None: the folder was missing
        self._lock = asyncio.Lock()

    def types(self) -> dict[str, Declared]:
        """The engine types, by name, available or not."""
        return dict(self._types)

    def errors(self) -> list[PluginError]:
        """The broken files, in file order."""
        return list(self._errors)

    def get(self, name: str) -> Declared | None:
        """The engine type of that name, if one is declared."""
        return self._types.get(name)

    def listing(self) -> dict[str, Any]:
        """Types and broken files, as GET /engine-types shows them."""
        return {
            "types": [declared.as_dict() for declared in self._types.values()],
            "errors": [error.as_dict() for error in self._errors],
        }

    async def load(self) -> None:
        """Load every plug-in file afresh and replace the current state in one step."""
        async with self._lock:
            # Declarations too: a changed preload or limit shows nowhere in the listing.
            before = (self.listing(), self._types)
            snapshot = _snapshot(self.folder)
            names = [entry[0] for entry in snapshot or ()]
            results = await asyncio.gather(*(_load_file(self.folder / name) for name in names))
            chosen, errors = _assemble(names, results)
            reasons = await asyncio.gather(*(why_unavailable(t) for t, _ in chosen))
            types = {
                t.name: Declared(t, file, reason is None, reason)
                for (t, file), reason in zip(chosen, reasons, strict=True)
            }
            self._report(types, errors, snapshot)
            self._types, self._errors, self._snapshot = types, errors, snapshot
        if self.on_change is not None and (self.listing(), self._types) != before:
            try:
                self.on_change()
            except Exception:
                self.log.exception("plug-in change handler failed")

    async def watch(self) -> None:
        """Follow the folder until cancelled: changes show in the listing within a second.

        Survives the folder being deleted, recreated or replaced; any other failure is logged
        and watching starts again.
        """
        while True:
            try:
                await self._follow()
            except Exception:
                self.log.exception("watching plug-in folder %s failed; trying again", self.folder)
                await asyncio.sleep(1.0)

    async def _follow(self) -> None:
        """Follow the folder as it is now; return when it disappears or is replaced."""
        identity = _identity(self.folder)
        await self._reload_if_changed()
        if identity is None:
            await asyncio.sleep(ABSENT_POLL_SECONDS)
            return
        changes_stream = awatch(
            self.folder,
            # The folder's own events too: it was deleted or renamed away.
            watch_filter=lambda _, path: path == str(self.folder) or _is_plugin(Path(path).name),
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            rust_timeout=TICK_MS,
            yield_on_timeout=True,  # an empty set every TICK_MS: time to compare
            recursive=False,
        )
        async with contextlib.aclosing(changes_stream):
            async for changes in changes_stream:
                if _identity(self.folder) != identity:
                    return
                if changes:
                    await self.load()
                else:
                    # Catches what events may miss: a change between load() and the watcher
                    # starting, file systems without notifications.
                    await self._reload_if_changed()

    async def _reload_if_changed(self) -> None:
        if _snapshot(self.folder) != self._snapshot:
            await self.load()

    def _report(
        self, types: dict[str, Declared], errors: list[PluginError], snapshot: Snapshot | None
    ) -> None:
        """Log what changed since the last load, so a log line is never repeated needlessly."""
        if snapshot is None and self._snapshot is not None:
            self.log.warning("plug-in folder %s does not exist or cannot be read", self.folder)
        names = {entry[0] for entry in snapshot or ()}
        for name in sorted({entry[0] for entry in self._snapshot or ()} - names):
            self.log.info("plug-in removed: %s", name)
        for file in sorted({declared.file for declared in types.values()}):
            now = [declared for declared in types.values() if declared.file == file]
            if now != [declared for declared in self._types.values() if declared.file == file]:
                self.log.info("plug-in loaded: %s (%s)", file, ", ".join(d.type.name for d in now))
        for error in errors:
            if error not in self._errors:
                self.log.warning("plug-in broken: %s", error)
        for declared in types.values():
            old = self._types.get(declared.type.name)
            if declared.reason is not None and (old is None or old.reason != declared.reason):
                self.log.info("engine type %r unavailable: %s", declared.type.name, declared.reason)


def _assemble(
    names: list[str], results: list[FileResult]
) -> tuple[list[tuple[EngineType, str]], list[PluginError]]:
    """The types to keep, each with its file, and the errors; a name's first file wins."""
    chosen: list[tuple[EngineType, str]] = []
    errors: list[PluginError] = []
    owners: dict[str, str] = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, PluginError):
            errors.append(result)
        elif result == []:
            errors.append(PluginError(name, None, "declares no engine type"))
        for engine_type, line in result if isinstance(result, list) else ():
            first = owners.setdefault(engine_type.name, name)
            if any(engine_type.name == kept.name for kept, _ in chosen):
                duplicate = (
                    f"duplicate engine type {engine_type.name!r}: already declared in {first}"
                )
                errors.append(PluginError(name, line, duplicate))
            else:
                chosen.append((engine_type, name))
    return chosen, errors


def _is_plugin(name: str) -> bool:
    return name.endswith(".py") and not name.startswith(("_", "."))


def _identity(folder: Path) -> tuple[int, int] | None:
    """Which directory is at that path now (so a replaced folder is noticed), or None."""
    try:
        status = folder.stat()
    except OSError:
        return None
    return (status.st_dev, status.st_ino) if folder.is_dir() else None


def _snapshot(folder: Path) -> Snapshot | None:
    """The plug-in files in the folder, sorted by name; None if it cannot be listed."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return None
    found = []
    for entry in entries:
        try:
            if _is_plugin(entry.name) and entry.is_file():
                status = entry.stat()
                found.append((entry.name, status.st_mtime_ns, status.st_size, status.st_ino))
        except OSError:  # gone meanwhile, or a dangling link: not a plug-in now
            continue
    return tuple(sorted(found))


async def _load_file(path: Path) -> FileResult:
    """Run one file in a thread of its own, so a slow file blocks neither the loop nor exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[FileResult] = loop.create_future()

    def settle(result: FileResult) -> None:
        if not future.done():  # not given up on meanwhile
            future.set_result(result)

    def run() -> None:
        result = _run_file(path)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result)

    # A daemon thread, not the default executor: a file that never ends must not hang shutdown.
    threading.Thread(target=run, name=f"plug-in {path.name}", daemon=True).start()
    try:
        return await asyncio.wait_for(future, LOAD_SECONDS)
    except TimeoutError:
        return PluginError(path.name, None, f"TimeoutError: still running after {LOAD_SECONDS:g} s")


def _run_file(path: Path) -> FileResult:
    """Run a plug-in file: the engine types it declares, or what is wrong with it."""
    filename = str(path)
    try:
        source = path.read_bytes()
    except FileNotFoundError:
        return None  # removed since the folder was listed: the next reload says so
    except OSError as exc:
        return PluginError(path.name, None, _describe(exc))
    try:
        tree = ast.parse(source, filename)
        code = compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return PluginError(path.name, exc.lineno, f"{type(exc).__name__}: {exc.msg}")
    except ValueError as exc:  # e.g. null bytes, on some Python versions
        return PluginError(path.name, None, _describe(exc))
    namespace: dict[str, Any] = {"__name__": f"codenode_plugin_{path.stem}", "__file__": filename}
    try:
        exec(code, namespace)
        lines = _binding_lines(tree)
        found: dict[int, tuple[EngineType, int | None]] = {}
        for key, value in namespace.items():
            if isinstance(value, EngineType) and id(value) not in found:
                found[id(value)] = (value, lines.get(key))
    except BaseException as exc:  # SystemExit included: a plug-in must not end the backend
        return PluginError(path.name, _deepest_line(exc, filename), _describe(exc))
    return list(found.values())


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _deepest_line(exc: BaseException, filename: str) -> int | None:
    """The line of the innermost frame in the plug-in file: where the plug-in went wrong."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _binding_lines(tree: ast.Module) -> dict[str, int]:
    """Top-level name -> line of the statement that last binds it (to point at a duplicate)."""
    lines: dict[str, int] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        lines[node.id] = statement.lineno
    return lines
