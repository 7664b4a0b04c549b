"""An engine that sends its frontend malformed messages: only its own notebook hears of it.

User code can write to its engine's socket, so every message below comes from a real cell of
a real engine, through a real backend, to a real frontend (issue: one user's engine once made
the frontend call the whole backend down).
"""

from __future__ import annotations

from typing import Any

import pytest

from codenode.frontend.bus import engine_messages
from codenode.protocol import backend
from tests.frontend.live import LiveFrontend
from tests.frontend.test_bus import opened, run, text_of

# From a cell: the engine's own server, and a message sent on its socket as if it were its.
SEND = (
    "import gc\n"
    "server = next(o for o in gc.get_objects()"
    " if type(o).__name__ == 'EngineServer')\n"
    "server.connection.send({message})\n"
)
NAMING_THE_CELL = [  # each names the running evaluation: it fails, saying why
    "{'type': 'display', 'id': server._current, 'data': 5}",
    "{'type': 'display', 'id': server._current, 'data': {'text/html': 5}}",
    "{'type': 'stream', 'id': server._current, 'name': 'stdout', 'text': 7}",
    "{'type': 'stream', 'id': server._current, 'name': 'elsewhere', 'text': 'x'}",
    "{'type': 'result', 'id': server._current, 'error': 5}",
    "{'type': 'result', 'id': server._current, 'error': {'ename': 1}}",
    "{'type': 'result', 'id': server._current, 'input_count': 'one'}",
]
NAMING_NOTHING = [  # no evaluation to fail: refused, and the cell goes on
    "{'type': 'display', 'id': [1], 'data': {}}",
    "{'type': 'display', 'id': {'a': 1}, 'data': {}}",
    "{'type': 7}",
    "{'type': 'state'}",
    "[1, 2]",
    "'a string'",
]


@pytest.mark.parametrize("message", NAMING_THE_CELL)
def test_a_malformed_message_fails_its_evaluation_and_nothing_else(
    frontend: LiveFrontend, message: str
) -> None:
    alice, bob = frontend.user(), frontend.user()
    mine = frontend.notebook(alice.user["username"])  # type: ignore[index]
    theirs = frontend.notebook(bob.user["username"])  # type: ignore[index]
    cell = mine["cells"][0]
    with opened(alice, mine["id"]) as (bus, _):
        answer = run(bus, cell, SEND.format(message=message))
        error = answer[-1]["error"]
        assert error["ename"] == "EngineError", answer
        assert error["evalue"].startswith("the engine sent a malformed message: "), error
        assert not any(m.get("type") == "engine" and m.get("state") == "dead" for m in answer)
        # The same engine answers the next cell; the backend is up for everyone.
        again = run(bus, cell, "print(1 + 1)")
        assert text_of(again, cell) == "2\n" and "error" not in again[-1], again
    other = theirs["cells"][0]
    with opened(bob, theirs["id"]) as (bus, _):
        assert text_of(run(bus, other, "print('bob')"), other) == "bob\n"


def test_a_malformed_message_naming_nothing_is_dropped(frontend: LiveFrontend) -> None:
    alice = frontend.user()
    notebook = frontend.notebook(alice.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    with opened(alice, notebook["id"]) as (bus, _):
        for message in NAMING_NOTHING:
            answer = run(bus, cell, SEND.format(message=message) + "print('went on')")
            assert text_of(answer, cell) == "went on\n", (message, answer)
            assert "error" not in answer[-1], (message, answer)


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ({"type": "display", "id": 1, "data": []}, "'data'"),
        ({"type": "display", "id": True, "data": {}}, "'id'"),
        ({"type": "state", "state": "idle", "reason": 3}, "'reason'"),
        ({"type": "state", "state": "asleep"}, "'state'"),
        ({"type": "result", "id": 1, "cmd_count": 1}, "'input_count'"),
        ({"type": "reply", "id": 1, "op": "complete", "content": "x"}, "'content'"),
        ({"type": "stream", "id": 1, "name": "stdout"}, "'text'"),
        ({"type": "ready", "id": 1}, "unknown type 'ready'"),
        (
            {
                "type": "result",
                "id": 1,
                "input_count": 1,
                "cmd_count": 1,
                "error": {"ename": "E", "evalue": "v", "traceback": 1},
            },
            "traceback",
        ),
    ],
)
def test_the_checks_name_what_is_wrong(message: Any, why: str) -> None:
    said = engine_messages.problem(message)
    assert said is not None and why in said, said


def test_what_engines_really_send_passes() -> None:
    for message in (
        {"type": "stream", "id": 1, "name": "stdout", "text": "4\n"},
        {"type": "display", "id": 1, "data": {"text/plain": "x", "image/png": "AAAA"}},
        {"type": "result", "id": 1, "input_count": 3, "cmd_count": 1, "error": None},
        {
            "type": "result",
            "id": 1,
            "input_count": 3,
            "cmd_count": 0,
            "error": {"ename": "E", "evalue": "v", "traceback": "t"},
        },
        {"type": "hello", "protocol": backend.VERSION},
        {"type": "state", "state": "dead", "reason": "exited with code 3"},
        {"type": "reply", "id": 2, "op": "complete", "content": {"matches": []}},
        {"type": "error", "id": None, "message": "bad frame"},
        {"type": "input_request", "id": 1, "prompt": "? ", "password": False},
    ):
        assert engine_messages.problem(message) is None, message


def test_a_backend_of_another_bus_protocol_is_refused_saying_both() -> None:
    assert engine_messages.refusal({"type": "hello", "protocol": backend.VERSION}) is None
    assert engine_messages.refusal({"type": "hello", "protocol": backend.VERSION + 1}) == (
        f"the backend speaks engine bus protocol {backend.VERSION + 1}, and this frontend"
        f" speaks {backend.VERSION}: run the same version of Codenode on both"
    )
    older = engine_messages.refusal({"type": "state", "state": "idle"})
    assert older is not None and "says no engine bus protocol version" in older
