"""The plug-in folder, on real files: loading, broken files, availability, hot reload."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from watchfiles import awatch

from codenode.backend import availability
from codenode.backend import plugins as plugins_module
from codenode.backend.launch import engine_environment
from codenode.backend.plugins import PluginError, PluginFolder

ROOT = Path(__file__).resolve().parents[2]
IMPORT = "from codenode.backend.enginetype import EngineType, Limits\n"


def declare(variable: str, name: str, **fields: Any) -> str:
    """One top-level EngineType on this interpreter, on one line."""
    fields.setdefault("bin", sys.executable)
    given = "".join(f", {key}={value!r}" for key, value in fields.items())
    return f"{variable} = EngineType(name={name!r}{given})\n"


class Recorder(logging.Handler):
    """Keeps the messages logged through it."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def make_folder(path: Path, **files: str) -> PluginFolder:
    """A plug-in folder holding these files, with a logger whose messages the test can read."""
    path.mkdir(exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return PluginFolder(path, logger=recording_logger(path))


def recording_logger(path: Path) -> logging.Logger:
    logger = logging.getLogger(f"test.plugins.{path}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers = [Recorder()]
    return logger


def messages(folder: PluginFolder) -> list[str]:
    handler = folder.log.handlers[0]
    assert isinstance(handler, Recorder)
    return handler.messages


def loaded(path: Path, **files: str) -> PluginFolder:
    folder = make_folder(path, **files)
    asyncio.run(folder.load())
    return folder


async def until(condition: Callable[[], bool], within: float = 1.0) -> None:
    """Wait until condition() holds; fail if it does not within that many seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not within {within} s"
        await asyncio.sleep(0.01)


def run_watching(folder: PluginFolder, scenario: Callable[[], Awaitable[None]]) -> None:
    """Load, then run the scenario while watch() follows the folder."""

    async def main() -> None:
        await folder.load()
        watcher = asyncio.create_task(folder.watch())
        await asyncio.sleep(0.3)  # time to set up the watcher, so that events reach it
        try:
            await scenario()
            assert not watcher.done(), "watch() ended"
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    asyncio.run(main())


# -- loading ----------------------------------------------------------------------------------


def test_good_files_load_in_file_order(tmp_path: Path) -> None:
    folder = loaded(
        tmp_path,
        **{
            "b.py": IMPORT + declare("beta", "beta") + declare("gamma", "gamma", pool=2),
            "a.py": IMPORT + declare("alpha", "alpha", description="first") + "alias = alpha\n",
            "_private.py": "this is not Python",
            ".hidden.py": "nor this",
            "notes.txt": "nor this",
        },
    )
    assert list(folder.types()) == ["alpha", "beta", "gamma"]
    gamma = folder.get("gamma")
    assert gamma is not None and gamma.file == "b.py" and gamma.type.pool == 2
    assert folder.get("delta") is None
    assert folder.errors() == []
    shown = {"templated": False, "sandbox": True, "network": "host", "available": True}
    shown["workspace_mb"] = None
    assert folder.listing() == {
        "types": [
            {"name": "alpha", "description": "first"} | shown | {"file": "a.py"},
            {"name": "beta", "description": ""} | shown | {"file": "b.py"},
            {"name": "gamma", "description": ""} | shown | {"file": "b.py"},
        ],
        "errors": [],
    }
    assert messages(folder) == [
        "plug-in loaded: a.py (alpha)",
        "plug-in loaded: b.py (beta, gamma)",
    ]


BROKEN = {
    "syntax": ("import os\n\nx = = 1\n", 3, "SyntaxError: invalid syntax"),
    "indentation": (
        "if True:\nx = 1\n",
        2,
        "IndentationError: expected an indented block after 'if' statement on line 1",
    ),
    "exception": (
        "import os\n\ndef where():\n    return os.environ['CODENODE_TEST_NO_SUCH_VARIABLE']\n\n"
        "where()\n",
        4,
        "KeyError: 'CODENODE_TEST_NO_SUCH_VARIABLE'",
    ),
    "declaration": (
        IMPORT + "\nbad = EngineType(\n    name='bad',\n    bin='/bin/sh',\n    pool=-1,\n)\n",
        3,
        "DeclarationError: pool must be a whole number from 0 to 64",
    ),
    "limits": (
        IMPORT + "bad = EngineType(\n    name='bad',\n    bin='/bin/sh',\n"
        "    limits=Limits(memory_mb=0),\n)\n",
        5,
        "DeclarationError: limits: memory_mb must be a positive whole number or None",
    ),
    "templated": (
        IMPORT + "bad = EngineType(name='bad', bin='/bin/sh', templated='yes')\n",
        2,
        "DeclarationError: templated must be True or False",
    ),
    "preload": (
        IMPORT + "bad = EngineType(name='bad', bin='/bin/sh', templated=True, preload=['a b'])\n",
        2,
        "DeclarationError: preload must be a list of module names",
    ),
    "preload untemplated": (
        IMPORT + "bad = EngineType(name='bad', bin='/bin/sh', preload=['numpy'])\n",
        2,
        "DeclarationError: preload needs templated=True",
    ),
    "exit": ("import sys\nsys.exit(3)\n", 2, "SystemExit: 3"),
    "no type": ("x = 1\n", None, "declares no engine type"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_broken_file_is_reported_and_spares_the_others(tmp_path: Path, kind: str) -> None:
    source, line, message = BROKEN[kind]
    folder = loaded(
        tmp_path,
        **{
            "broken.py": source,
            "good.py": IMPORT + declare("good", "good"),
            "zed.py": IMPORT + declare("zed", "zed"),
        },
    )
    assert folder.errors() == [PluginError("broken.py", line, message)]
    assert list(folder.types()) == ["good", "zed"]
    assert folder.listing()["errors"] == [{"file": "broken.py", "line": line, "message": message}]
    where = "broken.py" if line is None else f"broken.py line {line}"
    assert f"plug-in broken: {where}: {message}" in messages(folder)


def test_duplicate_name_goes_to_the_first_file(tmp_path: Path) -> None:
    folder = loaded(
        tmp_path,
        **{
            "a.py": IMPORT + declare("one", "same", description="from a"),
            "b.py": IMPORT + "\n" + declare("two", "same") + declare("other", "other"),
        },
    )
    same = folder.get("same")
    assert same is not None and same.file == "a.py" and same.type.description == "from a"
    assert folder.get("other") is not None
    assert folder.errors() == [
        PluginError("b.py", 3, "duplicate engine type 'same': already declared in a.py")
    ]


def test_each_error_is_logged_once(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, **{"bad.py": "x = = 1\n", "good.py": IMPORT + declare("g", "g")})

    async def scenario() -> None:
        await folder.load()
        await folder.load()
        (tmp_path / "bad.py").write_text("\nraise ValueError('no')\n")
        await folder.load()
        await folder.load()

    asyncio.run(scenario())
    assert messages(folder) == [
        "plug-in loaded: good.py (g)",
        "plug-in broken: bad.py line 1: SyntaxError: invalid syntax",
        "plug-in broken: bad.py line 2: ValueError: no",
    ]


def test_a_slow_file_blocks_neither_the_loop_nor_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins_module, "LOAD_SECONDS", 0.3)
    folder = make_folder(
        tmp_path,
        **{"slow.py": "import time\ntime.sleep(3)\n", "good.py": IMPORT + declare("g", "g")},
    )
    ticks = 0

    async def scenario() -> None:
        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        await folder.load()
        ticker.cancel()

    asyncio.run(scenario())
    assert folder.errors() == [
        PluginError("slow.py", None, "TimeoutError: still running after 0.3 s")
    ]
    assert list(folder.types()) == ["g"]
    assert ticks >= 10  # the loop ran on while the file slept


def test_missing_folder_is_empty_and_logged_once(tmp_path: Path) -> None:
    folder = PluginFolder(tmp_path / "nowhere", logger=recording_logger(tmp_path))

    async def scenario() -> None:
        await folder.load()
        await folder.load()

    asyncio.run(scenario())
    assert folder.listing() == {"types": [], "errors": []}
    assert messages(folder) == [
        f"plug-in folder {tmp_path / 'nowhere'} does not exist or cannot be read"
    ]


def test_on_change_is_called_when_the_listing_changes(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, **{"a.py": IMPORT + declare("a", "a")})
    calls: list[list[str]] = []
    folder.on_change = lambda: calls.append(list(folder.types()))

    async def scenario() -> None:
        await folder.load()
        await folder.load()  # nothing changed
        (tmp_path / "b.py").write_text(IMPORT + declare("b", "b"))
        await folder.load()

    asyncio.run(scenario())
    assert calls == [["a"], ["a", "b"]]


# -- availability -----------------------------------------------------------------------------


def unavailability_cases(tmp_path: Path) -> list[tuple[dict[str, Any], str]]:
    """Fields of a type that cannot run, and the start of the reason given (all of it, mostly)."""
    plain = tmp_path / "not-executable"
    plain.write_text("")
    false = shutil.which("false") or "/bin/false"
    nowhere = tmp_path / "nowhere"
    return [
        ({"bin": "/nonexistent/bin/python"}, "/nonexistent/bin/python does not exist"),
        ({"bin": str(plain)}, f"{plain} is not executable"),
        (
            {"bin": "codenode-no-such-program"},
            "codenode-no-such-program is not on the engine's PATH (",
        ),
        ({"path": str(nowhere)}, f"working directory {nowhere} does not exist"),
        ({"requires": ["codenode_no_such"]}, f"{sys.executable} cannot import codenode_no_such"),
        (
            {"requires": ["json", "codenode_no_such", "codenode.no_such"]},
            f"{sys.executable} cannot import codenode_no_such, codenode.no_such",
        ),
        (
            {"env": {"X": "a\0b"}, "requires": ["json"]},
            "could not be checked: ValueError: embedded null byte",
        ),
        (
            {"bin": false, "requires": ["json"]},
            f"{false} could not check its required modules (exit status 1): no answer",
        ),
    ]


def test_types_that_cannot_run_here_are_listed_with_the_reason(tmp_path: Path) -> None:
    cases = unavailability_cases(tmp_path)
    files = {
        f"t{i}.py": IMPORT + declare("t", f"t{i}", **fields) for i, (fields, _) in enumerate(cases)
    }
    files["fine.py"] = IMPORT + declare("fine", "fine", requires=["json", "codenode.engine"])
    folder = loaded(tmp_path / "plugins", **files)
    for i, (_, reason) in enumerate(cases):
        declared = folder.get(f"t{i}")
        assert declared is not None and not declared.available
        assert declared.reason is not None
        prefix = reason.endswith("(")  # the rest is the engine's PATH
        assert declared.reason.startswith(reason) if prefix else declared.reason == reason
    fine = folder.get("fine")
    assert fine is not None and fine.available and fine.reason is None
    listed = {entry["name"]: entry for entry in folder.listing()["types"]}
    assert listed["t0"] == {
        "name": "t0",
        "description": "",
        "templated": False,
        "sandbox": True,
        "network": "host",
        "workspace_mb": None,
        "available": False,
        "file": "t0.py",
        "reason": "/nonexistent/bin/python does not exist",
    }
    assert "reason" not in listed["fine"]
    assert "engine type 't0' unavailable: /nonexistent/bin/python does not exist" in messages(
        folder
    )


def test_a_check_that_hangs_is_given_up_and_its_process_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(availability, "CHECK_SECONDS", 0.3)
    pid_file = tmp_path / "pid"
    hanging = tmp_path / "hanging-python"
    hanging.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 30\n")
    hanging.chmod(0o755)
    folder = loaded(
        tmp_path / "plugins",
        **{"h.py": IMPORT + declare("h", "h", bin=str(hanging), requires=["json"])},
    )
    declared = folder.get("h")
    assert declared is not None and not declared.available
    assert declared.reason == f"{hanging} did not say within 0.3 s whether it can import json"
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


# -- hot reload -------------------------------------------------------------------------------


def test_add_change_break_remove_show_within_a_second(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, **{"keep.py": IMPORT + declare("keep", "keep")})
    hot = tmp_path / "hot.py"

    def description() -> str | None:
        declared = folder.get("hot")
        return None if declared is None else declared.type.description

    async def scenario() -> None:
        hot.write_text(IMPORT + declare("hot", "hot", description="one"))
        await until(lambda: description() == "one")
        hot.write_text(IMPORT + declare("hot", "hot", description="two, longer"))
        await until(lambda: description() == "two, longer")
        hot.write_text(IMPORT + "hot = EngineType(name='hot', bin='')\n")
        await until(lambda: description() is None and folder.errors() != [])
        assert folder.errors() == [
            PluginError("hot.py", 2, "DeclarationError: bin must be a non-empty string")
        ]
        assert list(folder.types()) == ["keep"]
        hot.write_text(IMPORT + declare("hot", "hot", description="three"))
        await until(lambda: description() == "three" and folder.errors() == [])
        hot.unlink()
        await until(lambda: list(folder.types()) == ["keep"])

    run_watching(folder, scenario)
    assert "plug-in removed: hot.py" in messages(folder)


def test_folder_deleted_and_recreated_while_watched(tmp_path: Path) -> None:
    path = tmp_path / "plugins"
    folder = make_folder(path, **{"a.py": IMPORT + declare("a", "a")})

    async def scenario() -> None:
        shutil.rmtree(path)
        await until(lambda: folder.types() == {})
        await asyncio.sleep(0.3)  # a folder recreated at once may pass for the old one
        path.mkdir()
        (path / "b.py").write_text(IMPORT + declare("b", "b"))
        await until(lambda: list(folder.types()) == ["b"])
        (path / "c.py").write_text(IMPORT + declare("c", "c"))  # the new folder is watched
        await until(lambda: list(folder.types()) == ["b", "c"])

    run_watching(folder, scenario)
    assert "plug-in removed: a.py" in messages(folder)


def test_folder_replaced_while_watched(tmp_path: Path) -> None:
    path = tmp_path / "plugins"
    folder = make_folder(path, **{"a.py": IMPORT + declare("a", "a")})
    new = tmp_path / "new"
    new.mkdir()
    (new / "b.py").write_text(IMPORT + declare("b", "b"))

    async def scenario() -> None:
        old = path.rename(tmp_path / "old")
        new.rename(path)
        await until(lambda: list(folder.types()) == ["b"])
        (old / "ignored.py").write_text(IMPORT + declare("x", "x"))  # the old one is not watched
        await asyncio.sleep(0.3)
        (path / "c.py").write_text(IMPORT + declare("c", "c"))
        await until(lambda: list(folder.types()) == ["b", "c"])

    run_watching(folder, scenario)


def test_watch_waits_for_a_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "later"
    folder = PluginFolder(path)

    async def scenario() -> None:
        await asyncio.sleep(0.3)
        path.mkdir()
        (path / "a.py").write_text(IMPORT + declare("a", "a"))
        await until(lambda: list(folder.types()) == ["a"])

    run_watching(folder, scenario)


def test_a_failing_watcher_is_logged_and_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_folder(tmp_path)
    calls = 0

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("inotify watch limit reached")
        return awatch(*args, **kwargs)

    monkeypatch.setattr(plugins_module, "awatch", failing_once)

    async def scenario() -> None:
        (tmp_path / "a.py").write_text(IMPORT + declare("a", "a"))
        await until(lambda: list(folder.types()) == ["a"], within=3.0)  # after a 1 s pause
        (tmp_path / "b.py").write_text(IMPORT + declare("b", "b"))
        await until(lambda: list(folder.types()) == ["a", "b"])

    run_watching(folder, scenario)
    assert calls == 2
    assert f"watching plug-in folder {tmp_path} failed; trying again" in messages(folder)


# -- the shipped plug-ins ---------------------------------------------------------------------


def test_shipped_python_type_starts_a_real_engine(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins" / "python.py", tmp_path / "python.py")
    folder = loaded(tmp_path)
    declared = folder.get("python")
    assert declared is not None and declared.available, declared
    assert declared.type.templated and declared.type.bin == sys.executable
    engine_type = declared.type
    parent, child = socket.socketpair()
    with parent, child:
        process = subprocess.Popen(
            [engine_type.bin, *engine_type.args, "--fd", str(child.fileno())],
            pass_fds=[child.fileno()],
            env=engine_environment(engine_type),
            cwd=engine_type.working_directory,
            stdin=subprocess.DEVNULL,
        )
        child.close()
        parent.settimeout(30)
        header = parent.recv(4, socket.MSG_WAITALL)
        body = parent.recv(int.from_bytes(header, "big"), socket.MSG_WAITALL)
        parent.close()
        assert process.wait(30) == 0
    assert json.loads(body)["type"] == "ready"


def test_shipped_sage_type_says_why_it_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ROOT / "plugins" / "sage.py", tmp_path / "sage.py")
    monkeypatch.delenv("CODENODE_SAGE_PYTHON", raising=False)
    declared = loaded(tmp_path).get("sage")
    assert declared is not None
    if declared.available:
        pytest.skip(f"passagemath is installed for {declared.type.bin}")
    assert declared.reason is not None
    assert "cannot import sage.all__sagemath_symbolics" in declared.reason


def test_shipped_sage_type_uses_codenode_sage_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ROOT / "plugins" / "sage.py", tmp_path / "sage.py")
    monkeypatch.setenv("CODENODE_SAGE_PYTHON", "/nonexistent/sage-venv/bin/python")
    declared = loaded(tmp_path).get("sage")
    assert declared is not None and not declared.available
    assert declared.reason == "/nonexistent/sage-venv/bin/python does not exist"
