"""A frontend that loses a backend, is killed outright, or leaves engines idle."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.backend.conftest import TOKEN, Backend, python_plugin, start_backend
from tests.frontend.live import LiveFrontend, register_backend
from tests.frontend.test_bus import opened, receive_until, run, text_of


def new_backend(tmp_path: Path, name: str) -> Backend:
    folder = tmp_path / name
    (folder / "plugins").mkdir(parents=True)
    (folder / "plugins" / "python.py").write_text(python_plugin(templated=True))
    return start_backend(folder / "plugins", folder)


@pytest.fixture
def two_backends(tmp_path: Path) -> Iterator[dict[str, Backend]]:
    backends = {name: new_backend(tmp_path, name) for name in ("east", "west")}
    yield backends
    for backend in backends.values():
        backend.close()


def started(tmp_path: Path, database: str, extra_env: dict[str, str] | None = None) -> LiveFrontend:
    live = LiveFrontend(tmp_path / "home", database, extra_env)
    live.start()
    return live


def test_a_lost_backend_is_reported_and_another_takes_the_next_evaluate(
    database_url: str, two_backends: dict[str, Backend], tmp_path: Path
) -> None:
    for name, backend in two_backends.items():
        register_backend(database_url, name, backend.url, TOKEN)
    live = started(tmp_path, database_url)
    try:
        owner = live.user()
        notebook = live.notebook(owner.user["username"])  # type: ignore[index]
        cell = notebook["cells"][0]
        with opened(owner, notebook["id"]) as (bus, _):
            messages = run(bus, cell, "import time; 'first'")
            first = next(m["backend"] for m in messages if m.get("backend"))
            two_backends[first].process.kill()  # SIGKILL: its engines die with it
            dead = receive_until(bus, lambda m: m.get("type") == "engine" and m["state"] == "dead")
            assert f"lost the backend {first!r}" in dead[-1]["reason"]
            again = run(bus, cell, "'second'")
        assert text_of(again, cell) == "'second'\n"
        other = next(m["backend"] for m in again if m.get("type") == "engine" and m.get("backend"))
        assert other != first
    finally:
        live.stop()


def test_kill_9_of_the_frontend_loses_at_most_the_last_second_of_output(
    database_url: str, live_backend: Backend, tmp_path: Path
) -> None:
    """Outputs are stored every half second while a cell runs: a kill -9 loses what came
    after the last write. The kill comes once the database shows the cell's output being
    stored (on a loaded machine a write may take longer than the line count alone allows)."""
    register_backend(database_url, "local", live_backend.url, TOKEN)
    live = started(tmp_path, database_url)
    try:
        owner = live.user()
        notebook = live.notebook(owner.user["username"])  # type: ignore[index]
        cell = notebook["cells"][0]
        code = "import time\nfor i in range(400):\n    print(f'line {i}')\n    time.sleep(0.02)"

        def stored_lines() -> int:
            outputs = live.stored_cell(cell)["outputs"]
            return len(outputs[0]["text"].splitlines()) if outputs else 0

        with opened(owner, notebook["id"]) as (bus, _):
            bus.send(json.dumps({"id": 1, "op": "evaluate", "cell_id": cell, "source": code}))
            seen = receive_until(
                bus, lambda m: m.get("type") == "output" and "line 50\n" in m["output"]["text"]
            )
            deadline = time.monotonic() + 20
            while stored_lines() < 50:
                assert time.monotonic() < deadline, "no output was stored while the cell ran"
                time.sleep(0.05)
            live.stop(signal.SIGKILL)
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                while True:  # what the tab got before the kill
                    seen.append(json.loads(bus.recv(timeout=5)))
        shown = text_of(seen, cell)
        live.start()  # the same environment and database
        stored = live.stored_cell(cell)
        assert stored["source"] == code
        text = stored["outputs"][0]["text"] if stored["outputs"] else ""
        assert shown.startswith(text)
        assert len(text.splitlines()) >= 50  # what was stored before the kill is still there
        # At 50 lines a second, the last second is 50 lines: more than 50 missing is a loss.
        assert len(shown.splitlines()) - len(text.splitlines()) <= 50, (len(shown), len(text))
    finally:
        live.stop()  # whatever failed: no frontend is left running


def test_idle_engines_are_stopped(database_url: str, live_backend: Backend, tmp_path: Path) -> None:
    register_backend(database_url, "local", live_backend.url, TOKEN)
    live = started(tmp_path, database_url, {"CODENODE_IDLE_ENGINE_MINUTES": "0.03"})
    try:
        owner = live.user()
        notebook = live.notebook(owner.user["username"])  # type: ignore[index]
        cell = notebook["cells"][0]

        def engine_ids() -> set[str]:
            return {e["id"] for e in live_backend.http.get("/engines").json()["engines"]}

        before = engine_ids()
        with opened(owner, notebook["id"]) as (bus, _):
            run(bus, cell, "x = 1")
            mine = engine_ids() - before
            assert len(mine) == 1
            stopped = receive_until(
                bus, lambda m: m.get("type") == "engine" and m["state"] == "none", timeout=15
            )
            assert "without evaluations" in stopped[-1]["reason"]
            assert not mine & engine_ids()  # stopped on the backend, not only forgotten
            # The next evaluate starts a new engine.
            assert text_of(run(bus, cell, "'x' in dir()"), cell) == "False\n"
    finally:
        live.stop()


def test_engine_on_open_starts_the_engine_for_writers_only(
    database_url: str, live_backend: Backend, tmp_path: Path
) -> None:
    register_backend(database_url, "local", live_backend.url, TOKEN)
    live = started(tmp_path, database_url, {"CODENODE_ENGINE_ON_OPEN": "true"})
    try:
        owner = live.user()
        notebook = live.notebook(owner.user["username"])  # type: ignore[index]
        viewer = live.user()
        name = viewer.user["username"]  # type: ignore[index]
        owner.ok("PUT", f"/api/notebooks/{notebook['id']}/shares/{name}", json={"role": "viewer"})
        with opened(viewer, notebook["id"]) as (bus, first):
            assert first["engine"]["state"] == "none"
            bus.send(json.dumps({"id": 1, "op": "ping"}))
            assert json.loads(bus.recv(timeout=10))["type"] == "pong"  # nothing started
        assert owner.ok("GET", f"/api/notebooks/{notebook['id']}/engine")["state"] == "none"
        with opened(owner, notebook["id"]) as (bus, _):
            receive_until(bus, lambda m: m.get("type") == "engine" and m["state"] == "idle")
    finally:
        live.stop()
