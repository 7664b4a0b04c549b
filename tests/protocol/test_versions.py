"""Each wire's version is checked when its connection opens, and a mismatch is said, not hung.

- engine wire: an engine whose ``ready`` speaks another engine protocol does not start;
- engine bus: a frontend on a backend of another bus protocol makes it the engine's death,
  saying both versions, and the cell that waits fails with that;
- notebook bus: the first message says the frontend's version; a tab that says it speaks
  another is closed with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from codenode.frontend.db import default_url, upgrade
from codenode.protocol import backend as bus_protocol
from codenode.protocol import browser
from codenode.protocol import engine as wire
from tests.backend.conftest import TOKEN, Backend, python_plugin, script_plugin, start_backend
from tests.backend.test_backend import declare
from tests.frontend.conftest import frontend, frontend_database, live_backend
from tests.frontend.live import LiveFrontend, off_loop, register_backend
from tests.frontend.test_bus import opened, run

__all__ = ["frontend", "frontend_database", "live_backend"]  # the fixtures used here

# A backend whose engine bus says it speaks another version (as a newer one would).
OTHER_BUS = bus_protocol.VERSION + 1
ARGUMENTS = ("backend", "--port", "0", "--plugins")
PATCHED_BACKEND = (
    "import runpy, sys\n"
    "import codenode.protocol.backend as bus\n"
    f"bus.VERSION = {OTHER_BUS}\n"
    "sys.argv[0] = 'codenode'\n"
    "runpy.run_module('codenode', run_name='__main__')\n"
)


@pytest.mark.slow
def test_an_engine_of_another_engine_protocol_does_not_start(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin())
    backend = start_backend(plugins, tmp_path)
    try:
        declare(backend, "other.py", script_plugin("other", "other_protocol.py"))
        response = backend.http.post("/engines", json={"type": "other"})
        assert response.status_code == 503, response.text
        message = response.json()["message"]
        assert (
            f"speaks engine protocol 99, and this backend speaks {wire.PROTOCOL_VERSION}" in message
        ), message
        assert backend.http.get("/engines").json()["engines"] == []
        assert backend.http.get("/health").json()["status"] == "ok"
    finally:
        backend.close()


def test_the_engine_bus_says_its_version_first(live_backend: Backend) -> None:
    engine = live_backend.start_engine()
    try:
        with live_backend.bus(engine["id"]) as ws:
            first, second = json.loads(ws.recv(timeout=10)), json.loads(ws.recv(timeout=10))
        assert first == {"type": "hello", "protocol": bus_protocol.VERSION}
        assert second == {"type": "state", "state": "idle"}
    finally:
        live_backend.http.delete(f"/engines/{engine['id']}")


@pytest.fixture
def other_backend(tmp_path: Path) -> Iterator[str]:
    """The URL of a real backend whose engine bus speaks version OTHER_BUS."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin(templated=True))
    env = {**os.environ, "CODENODE_BACKEND_TOKEN": TOKEN, "CODENODE_HOME": str(tmp_path)}
    with open(tmp_path / "backend.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", PATCHED_BACKEND, *ARGUMENTS, str(plugins)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            start_new_session=True,
        )
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        assert "listening on" in first, first + (tmp_path / "backend.log").read_text()
        url = first.split("listening on ")[1].strip()
        watcher = Backend(plugins, process, url)
        try:
            deadline = time.monotonic() + 20
            while not _healthy(watcher) and time.monotonic() < deadline:
                time.sleep(0.05)
            watcher.wait_for_templates()
        finally:
            watcher.http.close()
        yield url
    finally:
        process.terminate()
        process.wait(15)
        process.stdout.close()


def _healthy(backend: Backend) -> bool:
    try:
        return backend.http.get("/health").status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.slow
def test_a_backend_of_another_engine_bus_protocol_fails_the_cell_saying_both(
    other_backend: str, tmp_path: Path
) -> None:
    database = default_url(tmp_path)
    off_loop(upgrade, database)
    register_backend(database, "newer", other_backend, TOKEN)
    live = LiveFrontend(tmp_path / "home", database)
    (tmp_path / "home").mkdir()
    live.start()
    try:
        alice = live.user()
        notebook = live.notebook(alice.user["username"])  # type: ignore[index]
        cell = notebook["cells"][0]
        said = (
            f"the backend speaks engine bus protocol {OTHER_BUS}, and this frontend speaks"
            f" {bus_protocol.VERSION}: run the same version of Codenode on both"
        )
        refused = f"could not reach the engine's bus: {said}"
        with opened(alice, notebook["id"]) as (bus, _):
            answer = run(bus, cell, "print('never shown')")
            assert answer[-1]["error"] == {
                "ename": "EngineUnavailable",
                "evalue": refused,
                "traceback": "",
            }, answer[-1]
            dead = [m for m in answer if m.get("type") == "engine" and m["state"] == "dead"]
            assert dead and dead[-1]["reason"] == refused, answer
            assert not [m for m in answer if m.get("type") == "output"], answer  # never ran
            # The next one is told the same at once: nothing hangs.
            again = run(bus, cell, "1 + 1", timeout=20)
            assert again[-1]["error"]["evalue"] == refused, again[-1]
    finally:
        live.stop()


def test_the_notebook_bus_says_its_version_first(frontend: LiveFrontend) -> None:
    alice = frontend.user()
    notebook = frontend.notebook(alice.user["username"])  # type: ignore[index]
    with opened(alice, notebook["id"]) as (_, first):
        assert first["protocol"] == browser.VERSION
        assert browser.MESSAGES.problem(first) is None, first


def test_a_tab_of_another_notebook_bus_protocol_is_closed_saying_both(
    frontend: LiveFrontend,
) -> None:
    alice = frontend.user()
    notebook = frontend.notebook(alice.user["username"])  # type: ignore[index]
    cookies = "; ".join(f"{name}={value}" for name, value in alice.http.cookies.items())
    base = frontend.url.replace("http", "ws", 1) + f"/api/notebooks/{notebook['id']}/bus"
    headers = {"Cookie": cookies, "Origin": frontend.url}
    with (
        connect(f"{base}?protocol=0", additional_headers=headers) as bus,
        pytest.raises(ConnectionClosed) as closed,
    ):
        bus.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert closed.value.rcvd.reason == (
        f"this page speaks notebook bus protocol 0, and the frontend speaks {browser.VERSION}:"
        " reload the page"
    )
    with connect(f"{base}?protocol={browser.VERSION}", additional_headers=headers) as bus:
        first = json.loads(bus.recv(timeout=10))
        assert first["type"] == "notebook"
