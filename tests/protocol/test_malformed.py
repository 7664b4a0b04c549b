"""Frames that decode but cannot be passed on as they are: nothing hangs, no one else notices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.backend.conftest import Backend
from tests.backend.test_backend import attach, result_of
from tests.frontend.conftest import frontend, frontend_database, live_backend
from tests.frontend.live import LiveFrontend
from tests.frontend.test_bus import opened, run, text_of

__all__ = ["frontend", "frontend_database", "live_backend"]  # the fixtures used here

# From a cell: a stream message whose text is a lone surrogate (valid JSON, \ud800, but no
# UTF-8 can carry it), written on the engine's own socket as the evaluation's own output.
LONE_SURROGATE = r"""
import gc, json
server = next(o for o in gc.get_objects() if type(o).__name__ == 'EngineServer')
body = ('{"id":' + json.dumps(server._current)
        + ',"type":"stream","name":"stdout","text":"a\\ud800b"}').encode()
with server.connection._lock:
    server.connection.sock.sendall(len(body).to_bytes(4, 'big') + body)
print('after')
"""


@pytest.fixture
def engine(live_backend: Backend) -> Iterator[dict[str, Any]]:
    started = live_backend.start_engine()
    yield started
    live_backend.http.delete(f"/engines/{started['id']}")


def test_a_lone_surrogate_from_an_engine_stops_nothing(
    live_backend: Backend, engine: dict[str, Any]
) -> None:
    with live_backend.bus(engine["id"]) as ws:
        attach(ws)
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": LONE_SURROGATE}))
        assert result_of(ws)["out"].endswith("after\n")
        ws.send(json.dumps({"id": 2, "op": "evaluate", "code": "1 + 1"}))
        assert result_of(ws, 2)["out"] == "2\n"


def test_a_lone_surrogate_reaches_no_tab_as_broken_text(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    with opened(owner, notebook["id"]) as (bus, _):
        answer = run(bus, cell, LONE_SURROGATE)
        assert text_of(answer, cell).endswith("after\n"), answer
        assert text_of(run(bus, cell, "print(6 * 7)"), cell) == "42\n"
