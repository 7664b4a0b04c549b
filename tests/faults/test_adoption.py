"""A frontend that restarts finds its notebooks' engines again: variables survive it.

Placements are in the database (codenode/frontend/bus/placements.py): a graceful stop leaves
the engines running, a kill -9 leaves them too, and the next frontend on the database adopts
each notebook's engine at its next use instead of starting a new one.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.backend.conftest import TOKEN, Backend
from tests.frontend.live import (
    Client,
    LiveFrontend,
    in_database,
    receive_until,
    register_backend,
)
from tests.frontend.test_bus import opened, run, text_of


def placements(database_url: str) -> list[tuple[str, str]]:
    async def read(db):  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        from codenode.frontend.db import EnginePlacement

        rows = await db.execute(select(EnginePlacement.notebook_id, EnginePlacement.engine_id))
        return [tuple(row) for row in rows]

    return list(in_database(database_url, read))


def signed_in_with_notebook(live: LiveFrontend) -> tuple[str, Client, dict[str, Any]]:
    """A new user, signed in on a client of *live*, and a notebook of theirs."""
    name = live.add_user()
    client = live.client()
    assert client.login(name).status_code == 200
    return name, client, live.notebook(name)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "kill-9"])
def test_a_restarted_frontend_adopts_the_running_engine(
    database_url: str, live_backend: Backend, tmp_path: Path, how: int
) -> None:
    register_backend(database_url, "local", live_backend.url, TOKEN)
    live = LiveFrontend(tmp_path / "home", database_url)
    live.start()
    try:
        name, client, notebook = signed_in_with_notebook(live)
        cell = notebook["cells"][0]
        with opened(client, notebook["id"]) as (bus, _):
            run(bus, cell, "x = 41")
        engine_ids = [engine for nb, engine in placements(database_url) if nb == notebook["id"]]
        assert len(engine_ids) == 1
        live.stop(how)
        live.start()
        client = live.client()
        assert client.login(name).status_code == 200
        with opened(client, notebook["id"]) as (bus, _):
            again = run(bus, cell, "print(x + 1)")
        assert text_of(again, cell) == "42\n", again
        assert any(m.get("type") == "notice" and "reconnected" in m["message"] for m in again)
        assert [e for nb, e in placements(database_url) if nb == notebook["id"]] == engine_ids
        # Stopped on purpose, it is forgotten; the next run starts a fresh engine.
        client.ok("POST", f"/api/notebooks/{notebook['id']}/engine/stop")
        assert not [e for nb, e in placements(database_url) if nb == notebook["id"]]
        with opened(client, notebook["id"]) as (bus, _):
            fresh = run(bus, cell, "print('x' in dir())")
        assert text_of(fresh, cell) == "False\n"
    finally:
        live.stop()


def test_an_engine_gone_meanwhile_is_replaced_and_its_record_too(
    database_url: str, live_backend: Backend, tmp_path: Path
) -> None:
    register_backend(database_url, "local", live_backend.url, TOKEN)
    live = LiveFrontend(tmp_path / "home", database_url)
    live.start()
    try:
        name, client, notebook = signed_in_with_notebook(live)
        cell = notebook["cells"][0]
        with opened(client, notebook["id"]) as (bus, _):
            run(bus, cell, "x = 1")
        (old,) = [e for nb, e in placements(database_url) if nb == notebook["id"]]
        live.stop()
        assert live_backend.http.delete(f"/engines/{old}").status_code == 204  # meanwhile
        live.start()
        client = live.client()
        assert client.login(name).status_code == 200
        with opened(client, notebook["id"]) as (bus, _):
            answer = run(bus, cell, "print('x' in dir())")
        assert text_of(answer, cell) == "False\n"
        (new,) = [e for nb, e in placements(database_url) if nb == notebook["id"]]
        assert new != old
    finally:
        live.stop()


def test_a_graceful_stop_tells_the_tabs_before_it_closes_them(
    database_url: str, live_backend: Backend, tmp_path: Path
) -> None:
    """Uvicorn closes WebSockets (1012) before the application's shutdown: the tab must still
    get its running cell's last word, stored as well, and a close that says why."""
    register_backend(database_url, "local", live_backend.url, TOKEN)
    live = LiveFrontend(tmp_path / "home", database_url)
    live.start()
    try:
        _name, client, notebook = signed_in_with_notebook(live)
        cell = notebook["cells"][0]
        code = "import time\nprint('started', flush=True)\ntime.sleep(30)"
        with opened(client, notebook["id"]) as (bus, _):
            bus.send(json.dumps({"id": 1, "op": "evaluate", "cell_id": cell, "source": code}))
            receive_until(bus, lambda m: m.get("type") == "output")
            assert live.process is not None
            live.process.send_signal(signal.SIGTERM)
            seen: list[dict[str, Any]] = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    seen.append(json.loads(bus.recv(timeout=20)))
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001, closed.value.rcvd
        assert "stopping" in closed.value.rcvd.reason
        results = [m for m in seen if m.get("type") == "result" and m["cell_id"] == cell]
        assert results and "the frontend stopped" in results[0]["error"]["evalue"], seen
        live.process.wait(15)
        stored = live.stored_cell(cell)
        assert stored["outputs"][0]["text"] == "started\n"
        assert "the frontend stopped" in json.dumps(stored["outputs"][-1])
    finally:
        live.stop()
