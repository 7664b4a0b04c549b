"""The buses fuzzed, on real processes: random, truncated, oversized and wrong-typed frames
from a browser tab (the frontend's notebook bus), from a bus client of the backend (its
engine bus), and from an engine itself (its socket to the backend, written by a cell).

Each time: the bad frame is refused or its connection closed with a reason, the server logs
no traceback, the same connection (or a new one) works afterwards, and another user's engine
answers as before.
"""

from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from tests.backend.conftest import Backend
from tests.backend.test_templates import value
from tests.frontend.conftest import frontend, frontend_database, live_backend
from tests.frontend.live import LiveFrontend
from tests.frontend.test_bus import opened, run, text_of

__all__ = ["frontend", "frontend_database", "live_backend"]  # the fixtures used here

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
OPS = st.sampled_from(
    ["evaluate", "complete", "introspect", "input_reply", "interrupt", "restart", "stop",
     "insert_cell", "update_cell", "move_cell", "delete_cell", "rename", "ping", "fly", ""]
)  # fmt: skip
# Messages that look nearly right: a real op with fields of any type.
NEAR_MISSES = st.builds(
    lambda op, fields: {"op": op, **fields},
    OPS,
    st.dictionaries(
        st.sampled_from(["id", "cell_id", "source", "position", "kind", "text", "title"]), JSON
    ),
)
TEXTS = (
    JSON.map(json.dumps)
    | NEAR_MISSES.map(json.dumps)
    | st.text(max_size=200)  # not JSON, or JSON cut short
    | NEAR_MISSES.map(lambda m: json.dumps(m)[: max(1, len(json.dumps(m)) // 2)])
)
# A harmless message: what no fuzzed one may be allowed to turn into a state change.
SAFE = {"update_cell", "insert_cell", "move_cell", "delete_cell", "rename", "restart", "stop"}


def alive(bus: ClientConnection) -> bool:
    """The bus still answers: a ping gets its pong (other messages may come first)."""
    bus.send(json.dumps({"id": 424242, "op": "ping"}))
    for _ in range(200):
        message = json.loads(bus.recv(timeout=10))
        if message == {"type": "pong", "id": 424242}:
            return True
    return False


def no_traceback(log: str) -> None:
    assert "Traceback" not in log, log[log.index("Traceback") - 500 :][:3000]


def test_a_tab_sending_garbage_gets_errors_and_nobody_else_notices(
    frontend: LiveFrontend,
) -> None:
    owner = frontend.user()
    notebook = frontend.notebook(owner.user["username"], title="Fuzzed")  # type: ignore[index]
    bystander = frontend.user()
    theirs = frontend.notebook(bystander.user["username"])  # type: ignore[index]
    their_cell = theirs["cells"][0]
    with opened(owner, notebook["id"]) as (bus, _), opened(bystander, theirs["id"]) as (other, _):
        sent: list[str] = []

        @FUZZ
        @given(text=TEXTS)
        def garbage(text: str) -> None:
            try:
                message: Any = json.loads(text)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("op") in SAFE:
                return  # a well-formed edit is no attack: it would just be done
            sent.append(text)
            bus.send(text)
            assert alive(bus)

        garbage()
        assert len(sent) > 50
        assert text_of(run(other, their_cell, "print(6 * 7)"), their_cell) == "42\n"
    no_traceback(frontend.log())


def test_an_oversized_tab_message_closes_that_tab_only(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    closed: Exception | None = None
    with contextlib.ExitStack() as stack:
        bus = stack.enter_context(owner.bus(notebook["id"]))
        # Closing a socket the server already closed may raise: that is the point here.
        stack.push(lambda *exc: isinstance(exc[1], (ConnectionClosed, OSError)))
        try:
            json.loads(bus.recv(timeout=10))
            big = {"id": 1, "op": "evaluate", "cell_id": cell, "source": "x" * 30_000_000}
            bus.send(json.dumps(big))
            answer = json.loads(bus.recv(timeout=30))
            assert answer["type"] == "error", answer  # refused, if not closed
        except (ConnectionClosed, OSError) as exc:
            closed = exc
    if isinstance(closed, ConnectionClosed) and closed.rcvd is not None:
        assert closed.rcvd.code == 1009  # "message too big", said
    with opened(owner, notebook["id"]) as (bus, _):
        assert text_of(run(bus, cell, "print('after')"), cell) == "after\n"
    no_traceback(frontend.log())


def test_a_backend_bus_client_sending_garbage_gets_errors(live_backend: Backend) -> None:
    engine = live_backend.start_engine()
    other = live_backend.start_engine()
    try:
        with live_backend.bus(engine["id"]) as bus:
            json.loads(bus.recv(timeout=10))  # the bus's hello
            json.loads(bus.recv(timeout=10))  # the engine's state

            @FUZZ
            @given(text=TEXTS)
            def garbage(text: str) -> None:
                bus.send(text)
                answer = json.loads(bus.recv(timeout=10))
                assert isinstance(answer, dict) and "type" in answer, answer

            garbage()
        assert value(live_backend, engine["id"], "1 + 1") == 2
        assert value(live_backend, other["id"], "2 + 2") == 4
    finally:
        for started in (engine, other):
            live_backend.http.delete(f"/engines/{started['id']}")
    no_traceback(Path(live_backend.plugins.parent / "backend.log").read_text())


# From a cell: bytes straight onto the engine's own socket, below its framing.
RAW = (
    "import gc\n"
    "server = next(o for o in gc.get_objects() if type(o).__name__ == 'EngineServer')\n"
    "server.connection.sock.sendall({payload!r})\n"
)
FRAMES = st.one_of(
    st.binary(max_size=64).map(lambda body: struct.pack(">I", len(body)) + body),  # not JSON
    JSON.map(lambda m: json.dumps(m).encode()).map(lambda b: struct.pack(">I", len(b)) + b),
    st.binary(min_size=1, max_size=3),  # a header cut short
)


def run_raw(backend: Backend, engine_id: str, code: str) -> None:
    """Evaluate code; back once its result comes, or the engine's death."""
    with backend.bus(engine_id) as bus:
        json.loads(bus.recv(timeout=10))
        bus.send(json.dumps({"id": 1, "op": "evaluate", "code": code}))
        while True:
            message = json.loads(bus.recv(timeout=20))
            if message.get("type") == "result" or message.get("state") == "dead":
                return


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=FRAMES)
def test_an_engine_writing_garbage_on_its_socket_harms_only_itself(
    live_backend: Backend, payload: bytes
) -> None:
    engine = live_backend.start_engine()
    other = live_backend.start_engine()
    try:
        run_raw(live_backend, engine["id"], RAW.format(payload=payload) + "print('sent')")
    except (ConnectionClosed, TimeoutError):
        pass  # the engine may be killed for it, or its answer lost: its own trouble
    finally:
        try:
            assert value(live_backend, other["id"], "3 * 3") == 9
            assert live_backend.http.get("/health").json()["status"] == "ok"
        finally:
            for started in (engine, other):
                live_backend.http.delete(f"/engines/{started['id']}")
    log = Path(live_backend.plugins.parent / "backend.log").read_text()
    no_traceback(log)


def test_the_engine_side_fuzz_left_the_log_short(live_backend: Backend) -> None:
    """A flood of bad frames is one line and a count, not a line each (issue 13's 700 MB)."""
    engine = live_backend.start_engine()
    try:
        frame = struct.pack(">I", 3) + b"bad"
        run_raw(live_backend, engine["id"], RAW.format(payload=frame * 5000))
        lines = Path(live_backend.plugins.parent / "backend.log").read_text().splitlines()
        assert sum("bad frame" in line for line in lines) < 50
    finally:
        live_backend.http.delete(f"/engines/{engine['id']}")
