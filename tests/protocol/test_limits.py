"""Each wire at its real limit: a message of exactly the limit goes through, one byte more is
refused or closes its connection with a reason, nothing hangs, and only that connection (or
that engine) is touched.

- engine wire: frames of at most 64 MiB (``frames.MAX_FRAME_BYTES``), both ways;
- engine bus: a client's messages of at most 16 MiB (``protocol.backend.MAX_MESSAGE_BYTES``);
- notebook bus: a tab's messages of at most 16 MiB (``protocol.browser.MAX_MESSAGE_BYTES``),
  and what the frontend passes on must fit the engine bus's limit too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from codenode.engine.client import EngineClient
from codenode.protocol import backend as engine_bus
from codenode.protocol import browser
from codenode.protocol import engine as wire
from tests.backend.conftest import TOKEN, Backend
from tests.backend.test_backend import attach, result_of, until
from tests.frontend.conftest import frontend, frontend_database, live_backend
from tests.frontend.live import Client, LiveFrontend, receive_until
from tests.frontend.test_bus import opened, run, text_of

__all__ = ["frontend", "frontend_database", "live_backend"]  # the fixtures used here


def padded(prefix: str, suffix: str, size: int) -> str:
    """prefix + x... + suffix, exactly size bytes as UTF-8."""
    text = prefix + "x" * (size - len(prefix.encode()) - len(suffix.encode())) + suffix
    assert len(text.encode()) == size
    return text


def said_too_big(closed: ConnectionClosed) -> None:
    """The server closed with 1009 ("message too big"), unless it reset the connection while
    the client was still sending (the client then never reads the close frame)."""
    assert closed.rcvd is None or closed.rcvd.code == 1009, closed


def test_the_limits_are_the_servers() -> None:
    # Both buses are served by uvicorn with its default WebSocket limit (serve.py of each).
    default = uvicorn.Config(app=None).ws_max_size
    assert engine_bus.MAX_MESSAGE_BYTES == browser.MAX_MESSAGE_BYTES == default


# -- the engine wire --------------------------------------------------------------------------


@pytest.mark.slow
def test_an_engine_reads_a_request_of_exactly_the_frame_limit_and_skips_one_byte_more() -> None:
    with EngineClient(timeout=60) as engine:
        body = padded('{"id":1,"op":"info","padding":"', '"}', wire.MAX_FRAME_BYTES).encode()
        engine.send_raw(len(body).to_bytes(4, "big") + body)
        assert engine.wait_for(1, "reply")["content"]["protocol"] == wire.PROTOCOL_VERSION
        over = padded('{"id":2,"op":"info","padding":"', '"}', wire.MAX_FRAME_BYTES + 1).encode()
        engine.send_raw(len(over).to_bytes(4, "big") + over)
        said = engine.receive()
        assert said == {
            "id": None,
            "type": "error",
            "message": "a message of 67,108,865 bytes, over the limit of 64 MiB",
        }
        assert engine.evaluate("6 * 7")["out"] == "42\n"  # in step after it


# From a cell: a frame of `size` bytes on the engine's own socket, as its own message.
RAW_FRAME = """
import gc, json
server = next(o for o in gc.get_objects() if type(o).__name__ == 'EngineServer')
head = '{{"id":' + json.dumps(server._current) + ',"type":"display","data":{{"text/plain":"'
tail = '"}}}}'
body = (head + 'x' * ({size} - len(head) - len(tail)) + tail).encode()
with server.connection._lock:
    server.connection.sock.sendall(len(body).to_bytes(4, 'big') + body)
del body
"""


@pytest.fixture
def engine(live_backend: Backend) -> Iterator[dict[str, Any]]:
    started = live_backend.start_engine()
    yield started
    live_backend.http.delete(f"/engines/{started['id']}")


def big_bus(backend: Backend, engine_id: str) -> ClientConnection:
    url = backend.url.replace("http", "ws") + f"/engines/{engine_id}/bus"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return connect(url, additional_headers=headers, max_size=None, open_timeout=10)


def test_the_backend_passes_on_an_engine_frame_of_exactly_the_limit(
    live_backend: Backend, engine: dict[str, Any]
) -> None:
    with big_bus(live_backend, engine["id"]) as ws:
        attach(ws)
        code = RAW_FRAME.format(size=wire.MAX_FRAME_BYTES)
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": code}))
        shown = until(ws, lambda m: m.get("type") in ("display", "error", "result"))
        assert shown["type"] == "display" and shown["id"] == 1, str(shown)[:200]
        assert len(shown["data"]["text/plain"]) > 60_000_000
        del shown
        assert result_of(ws)["err"] == ""


def test_an_engine_frame_one_byte_over_kills_that_engine_saying_why(
    live_backend: Backend, engine: dict[str, Any]
) -> None:
    other = live_backend.start_engine()
    try:
        with big_bus(live_backend, engine["id"]) as ws:
            attach(ws)
            code = RAW_FRAME.format(size=wire.MAX_FRAME_BYTES + 1)
            ws.send(json.dumps({"id": 1, "op": "evaluate", "code": code}))
            error = until(ws, lambda m: m.get("type") == "error")
            reason = "killed: it sent a message of 67,108,865 bytes, over the limit of 64 MiB"
            assert error == {"id": 1, "type": "error", "message": f"engine {reason}"}
            assert until(ws, lambda m: m.get("state") == "dead")["reason"] == reason
        with live_backend.bus(other["id"]) as ws:
            attach(ws)
            ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "1 + 1"}))
            assert result_of(ws)["out"] == "2\n"
    finally:
        live_backend.http.delete(f"/engines/{other['id']}")


# -- the engine bus ---------------------------------------------------------------------------


def test_the_engine_bus_takes_a_message_of_exactly_its_limit_and_closes_on_one_more(
    live_backend: Backend, engine: dict[str, Any]
) -> None:
    with live_backend.bus(engine["id"]) as ws:
        attach(ws)
        prefix = '{"id":1,"op":"evaluate","code":"#'
        ws.send(padded(prefix, '"}', engine_bus.MAX_MESSAGE_BYTES))
        assert result_of(ws)["err"] == ""
    with live_backend.bus(engine["id"]) as ws, pytest.raises(ConnectionClosed) as closed:
        attach(ws)
        ws.send(padded(prefix, '"}', engine_bus.MAX_MESSAGE_BYTES + 1))
        ws.recv(timeout=20)
    said_too_big(closed.value)
    with live_backend.bus(engine["id"]) as ws:  # the engine did not hear of it
        attach(ws)
        ws.send(json.dumps({"id": 2, "op": "evaluate", "code": "'still here'"}))
        assert result_of(ws, 2)["out"] == "'still here'\n"
    assert live_backend.http.get("/health").json()["status"] == "ok"


# -- the notebook bus -------------------------------------------------------------------------


def test_the_notebook_bus_takes_a_message_of_exactly_its_limit_and_closes_on_one_more(
    frontend: LiveFrontend,
) -> None:
    owner = frontend.user()
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    prefix = json.dumps({"id": 1, "op": "evaluate", "cell_id": cell})[:-1] + ', "source": "#'
    with opened(owner, notebook["id"]) as (bus, _):
        bus.send(padded(prefix, '"}', browser.MAX_MESSAGE_BYTES))
        error = receive_until(bus, lambda m: m.get("type") == "error")[-1]
        assert error["message"] == "'source' is longer than 10,000,000 characters", error
        assert pong(bus)
    with pytest.raises(ConnectionClosed) as closed, opened(owner, notebook["id"]) as (bus, _):
        bus.send(padded(prefix, '"}', browser.MAX_MESSAGE_BYTES + 1))
        receive_until(bus, lambda m: False)
    said_too_big(closed.value)
    with opened(owner, notebook["id"]) as (bus, _):
        assert text_of(run(bus, cell, "print('after')"), cell) == "after\n"


def as_a_browser(message: dict[str, Any]) -> str:
    """JSON as a browser writes it (JSON.stringify leaves é as it is: 2 bytes in UTF-8)."""
    return json.dumps(message, ensure_ascii=False)


def pong(bus: ClientConnection) -> bool:
    bus.send(json.dumps({"id": 77, "op": "ping"}))
    return receive_until(bus, lambda m: m.get("type") == "pong")[-1]["id"] == 77


def test_a_source_that_would_not_fit_the_engine_bus_is_refused_not_passed_on(
    frontend: LiveFrontend,
) -> None:
    """8 MB as the tab sends it, 24 MB as JSON for the engine's bus: a lone surrogate (which a
    browser escapes, \\ud800) makes the engine link write the message escaped, é as \\u00e9.
    Passed on, it would close the frontend's connection to the backend, and every notebook of
    this frontend on that backend would lose its engine. 16 MB of é (UTF-8) fits."""
    owner: Client = frontend.user()
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    other = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell, other_cell = notebook["cells"][0], other["cells"][0]
    with opened(owner, notebook["id"]) as (bus, _), opened(owner, other["id"]) as (watch, _):
        assert text_of(run(watch, other_cell, "x = 5; print(x)"), other_cell) == "5\n"
        source = "#\ud800" + "é" * 4_000_000
        text = as_a_browser({"id": 1, "op": "evaluate", "cell_id": cell, "source": source})
        bus.send(text.replace("\ud800", "\\ud800"))  # as JSON.stringify writes it
        error = receive_until(bus, lambda m: m.get("type") == "error")[-1]
        assert "over the 16 MiB that the engine's bus carries in one message" in error["message"]
        assert "24,000,009 bytes" in error["message"]
        fits = "#" + "é" * 8_000_000 + "\nprint('ran')"  # 16.0 MB as JSON: under, it runs
        bus.send(as_a_browser({"id": 2, "op": "evaluate", "cell_id": cell, "source": fits}))
        answer = receive_until(bus, lambda m: m.get("type") == "result", timeout=60)
        assert text_of(answer, cell) == "ran\n", answer[-3:]
        # The other notebook's engine is the same one, its variables kept.
        assert text_of(run(watch, other_cell, "print(x)"), other_cell) == "5\n"
