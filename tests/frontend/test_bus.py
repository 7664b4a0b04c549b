"""The notebook bus through a real frontend, a real backend and real engines."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection

from tests.frontend.live import Client, LiveFrontend, receive_until


def is_result(cell_id: str) -> Any:
    return lambda m: m.get("type") == "result" and m.get("cell_id") == cell_id


@contextmanager
def opened(client: Client, notebook_id: str) -> Iterator[tuple[ClientConnection, dict[str, Any]]]:
    """A tab on the notebook, and the first message it got (the whole notebook)."""
    with client.bus(notebook_id) as bus:
        first = json.loads(bus.recv(timeout=10))
        assert first["type"] == "notebook"
        yield bus, first


def run(
    bus: ClientConnection, cell_id: str, source: str, timeout: float = 30
) -> list[dict[str, Any]]:
    bus.send(json.dumps({"id": 1, "op": "evaluate", "cell_id": cell_id, "source": source}))
    return receive_until(bus, is_result(cell_id), timeout)


def text_of(messages: list[dict[str, Any]], cell_id: str) -> str:
    return "".join(
        m["output"]["text"]
        for m in messages
        if m.get("type") == "output" and m["cell_id"] == cell_id and m["output"]["type"] == "stream"
    )


def stored_eventually(frontend: LiveFrontend, cell_id: str, check: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while True:
        cell = frontend.stored_cell(cell_id)
        if check(cell) or time.monotonic() > deadline:
            assert check(cell), cell
            return dict(cell)
        time.sleep(0.1)


@pytest.fixture
def owner(frontend: LiveFrontend) -> Client:
    return frontend.user()


def test_evaluate_stores_source_and_output(frontend: LiveFrontend, owner: Client) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    with opened(owner, notebook["id"]) as (bus, first):
        assert first["engine"]["state"] == "none" and first["notebook"]["role"] == "owner"
        messages = run(bus, cell, "2+2")
    assert text_of(messages, cell) == "4\n"
    assert messages[-1]["execution_count"] == 1
    states = [m["state"] for m in messages if m["type"] == "engine"]
    assert states[0] == "starting" and "busy" in states
    stored = stored_eventually(frontend, cell, lambda c: c["count"] == 1)
    assert stored["source"] == "2+2"
    assert stored["outputs"] == [{"type": "stream", "name": "stdout", "text": "4\n"}]


def test_output_streams_to_two_tabs_before_the_cell_ends(
    frontend: LiveFrontend, owner: Client
) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.3)"
    with (
        opened(owner, notebook["id"]) as (first_tab, _),
        opened(owner, notebook["id"]) as (second_tab, _),
    ):
        first_tab.send(json.dumps({"op": "evaluate", "cell_id": cell, "source": code}))
        # The second tab sees the first line while the cell still runs (no result yet).
        early = receive_until(second_tab, lambda m: m.get("type") == "output")
        assert not any(m.get("type") == "result" for m in early)
        rest = receive_until(second_tab, is_result(cell))
        mine = receive_until(first_tab, is_result(cell))
    assert text_of(early + rest, cell) == "0\n1\n2\n"
    assert text_of(mine, cell) == "0\n1\n2\n"
    # The source typed in one tab reached the other as an edit.
    assert any(m.get("type") == "cell_updated" and m["source"] == code for m in early + rest)


def test_a_tab_that_asks_for_batches_gets_an_evaluations_end_in_one_frame(
    frontend: LiveFrontend, owner: Client
) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    with owner.bus(notebook["id"], query="?batches=1&protocol=1") as bus:
        frames = []

        def evaluate(source: str) -> None:
            bus.send(json.dumps({"id": 1, "op": "evaluate", "cell_id": cell, "source": source}))
            while True:
                frames.append(json.loads(bus.recv(timeout=30)))
                if any(m.get("type") == "result" for m in frames[-1]):
                    return

        evaluate("1")  # starts the engine
        start = len(frames)
        evaluate("2+2")
    assert all(isinstance(frame, list) for frame in frames), frames
    assert frames[0][0]["type"] == "notebook"
    # The output, the result and the engine's idle came from the backend in one frame, and
    # leave the frontend in one too (before the cell's end; the queued and busy before it).
    last = frames[-1]
    kinds = [m["type"] for m in last]
    assert kinds[-3:] == ["output", "result", "engine"], frames[start:]
    assert last[-3]["output"]["text"] == "4\n" and last[-1]["state"] == "idle"


def test_a_tab_that_reconnects_mid_run_gets_everything(
    frontend: LiveFrontend, owner: Client
) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    code = "import time\nfor i in range(8):\n    print('line', i, flush=True)\n    time.sleep(0.25)"
    with opened(owner, notebook["id"]) as (bus, _):
        bus.send(json.dumps({"op": "evaluate", "cell_id": cell, "source": code}))
        receive_until(bus, lambda m: m.get("type") == "output" and "line 1" in m["output"]["text"])
    # The browser is closed mid-run; a new tab opens the notebook.
    with opened(owner, notebook["id"]) as (again, first):
        so_far = first["cells"][0]["outputs"]
        assert so_far and so_far[0]["text"].startswith("line 0\nline 1\n"), first
        assert first["running"] == [cell]
        rest = receive_until(again, is_result(cell))
    whole = so_far[0]["text"] + text_of(rest, cell)
    assert whole == "".join(f"line {i}\n" for i in range(8))
    stored_eventually(frontend, cell, lambda c: c["outputs"] and c["outputs"][0]["text"] == whole)


def test_input_interrupt_complete_and_introspect(frontend: LiveFrontend, owner: Client) -> None:
    notebook = frontend.notebook(owner.user["username"], cells=["", ""])  # type: ignore[index]
    first_cell, second_cell = notebook["cells"]
    with opened(owner, notebook["id"]) as (bus, _):
        bus.send(
            json.dumps(
                {
                    "op": "evaluate",
                    "cell_id": first_cell,
                    "source": "name = input('Who? ')\nprint('hi', name)",
                }
            )
        )
        request = receive_until(bus, lambda m: m.get("type") == "input_request")[-1]
        assert request["prompt"] == "Who? " and request["cell_id"] == first_cell
        bus.send(json.dumps({"op": "input_reply", "value": "Ada"}))
        assert "hi Ada\n" in text_of(receive_until(bus, is_result(first_cell)), first_cell)

        bus.send(
            json.dumps({"op": "evaluate", "cell_id": second_cell, "source": "while True: pass"})
        )
        receive_until(bus, lambda m: m.get("type") == "engine" and m["state"] == "busy")
        bus.send(json.dumps({"id": 5, "op": "complete", "text": "import o", "cursor": 8}))
        reply = receive_until(bus, lambda m: m.get("type") == "reply")[-1]
        assert reply["id"] == 5 and "os" in json.dumps(reply["content"])
        bus.send(json.dumps({"op": "interrupt"}))
        result = receive_until(bus, is_result(second_cell))[-1]
        assert result["error"]["ename"] == "KeyboardInterrupt"

        bus.send(json.dumps({"id": 6, "op": "introspect", "expr": "len"}))
        reply = receive_until(bus, lambda m: m.get("type") == "reply")[-1]
        assert reply["id"] == 6 and "Return the number of items" in json.dumps(reply["content"])
    stored = stored_eventually(
        frontend, second_cell, lambda c: c["outputs"] and c["outputs"][-1]["type"] == "error"
    )
    assert stored["outputs"][-1]["ename"] == "KeyboardInterrupt"


def test_engine_death_is_reported_and_the_next_evaluate_starts_a_new_one(
    frontend: LiveFrontend, owner: Client
) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    with opened(owner, notebook["id"]) as (bus, _):
        run(bus, cell, "x = 41")
        died = run(bus, cell, "import os; os._exit(3)")
        assert "exited with code 3" in died[-1]["error"]["evalue"]
        dead = receive_until(bus, lambda m: m.get("type") == "engine" and m["state"] == "dead")
        assert "exited with code 3" in dead[-1]["reason"]
        again = run(bus, cell, "'x' in dir()")
    assert any(m.get("type") == "notice" and "new engine" in m["message"] for m in again)
    assert text_of(again, cell) == "False\n"  # a fresh namespace


def test_errors_are_outputs_of_their_own(frontend: LiveFrontend, owner: Client) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    with opened(owner, notebook["id"]) as (bus, _):
        run(bus, cell, "print('before')\n1/0")
    stored = stored_eventually(frontend, cell, lambda c: len(c["outputs"]) == 2)
    assert stored["outputs"][0] == {"type": "stream", "name": "stdout", "text": "before\n"}
    error = stored["outputs"][1]
    assert error["ename"] == "ZeroDivisionError" and "Traceback" in error["traceback"]


def test_edits_over_the_bus_are_saved_and_shared(frontend: LiveFrontend, owner: Client) -> None:
    notebook = frontend.notebook(owner.user["username"], cells=["a", "b"])  # type: ignore[index]
    first, second = notebook["cells"]
    with (
        opened(owner, notebook["id"]) as (editor, _),
        opened(owner, notebook["id"]) as (
            watcher,
            _,
        ),
    ):
        editor.send(json.dumps({"id": 1, "op": "update_cell", "cell_id": first, "source": "a2"}))
        editor.send(
            json.dumps(
                {"id": 2, "op": "insert_cell", "position": 0, "kind": "title", "source": "Heading"}
            )
        )
        editor.send(json.dumps({"id": 3, "op": "move_cell", "cell_id": second, "position": 0}))
        editor.send(json.dumps({"id": 4, "op": "delete_cell", "cell_id": first}))
        editor.send(json.dumps({"id": 5, "op": "rename", "title": "Renamed"}))
        seen = receive_until(watcher, lambda m: m.get("type") == "notebook_updated")
    kinds = [m["type"] for m in seen]
    assert kinds == [
        "cell_updated",
        "cell_inserted",
        "cell_moved",
        "cell_deleted",
        "notebook_updated",
    ]
    with opened(owner, notebook["id"]) as (_, first_message):
        pass
    cells = first_message["cells"]
    assert [(c["kind"], c["source"]) for c in cells] == [("code", "b"), ("title", "Heading")]
    assert first_message["notebook"]["title"] == "Renamed"


def test_malformed_messages_get_errors_and_the_bus_goes_on(
    frontend: LiveFrontend, owner: Client
) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    with opened(owner, notebook["id"]) as (bus, _):
        for bad in (
            "not json",
            "[1]",
            '{"op": "fly"}',
            '{"op": "evaluate", "cell_id": 3}',
            '{"op": "move_cell", "cell_id": "x", "position": "top"}',
            '{"op": "update_cell", "cell_id": "nope", "source": "x"}',
        ):
            bus.send(bad)
            error = json.loads(bus.recv(timeout=10))
            assert error["type"] == "error" and error["message"], bad
        bus.send(json.dumps({"id": 9, "op": "ping"}))
        assert json.loads(bus.recv(timeout=10)) == {"type": "pong", "id": 9}


def test_who_may_open_the_bus(frontend: LiveFrontend, owner: Client) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    stranger = frontend.user()
    with pytest.raises(InvalidStatus) as refused, stranger.bus(notebook["id"]):
        pass
    assert refused.value.response.status_code == 404
    with pytest.raises(InvalidStatus) as refused, frontend.client().bus(notebook["id"]):
        pass
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as refused, owner.bus(notebook["id"], "https://x.example"):
        pass
    assert refused.value.response.status_code == 403


def test_restart_and_stop_from_the_bus_and_the_api(frontend: LiveFrontend, owner: Client) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell, path = notebook["cells"][0], f"/api/notebooks/{notebook['id']}/engine"
    assert owner.ok("GET", path)["state"] == "none"
    with opened(owner, notebook["id"]) as (bus, _):
        run(bus, cell, "x = 1")
        assert owner.ok("GET", path)["state"] == "idle"
        bus.send(json.dumps({"op": "restart"}))
        receive_until(bus, lambda m: m.get("type") == "engine" and m["state"] == "idle")
        assert text_of(run(bus, cell, "'x' in dir()"), cell) == "False\n"
        run(bus, cell, "y = 2")
        assert owner.ok("POST", path + "/restart")["state"] in ("starting", "idle")
        assert text_of(run(bus, cell, "'y' in dir()"), cell) == "False\n"
        stopped = owner.ok("POST", path + "/stop")
        assert stopped["state"] == "none"
        receive_until(bus, lambda m: m.get("type") == "engine" and m["state"] == "none")
        assert text_of(run(bus, cell, "1+1"), cell) == "2\n"
    viewer = frontend.user()
    assert viewer.post(path + "/stop").status_code == 404  # no access at all


def test_withdrawn_access_reaches_open_tabs(frontend: LiveFrontend, owner: Client) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    shares = f"/api/notebooks/{notebook['id']}/shares/"
    helper = frontend.user()
    name = helper.user["username"]  # type: ignore[index]
    owner.ok("PUT", shares + name, json={"role": "collaborator"})
    with opened(helper, notebook["id"]) as (bus, first):
        assert first["notebook"]["role"] == "collaborator"
        owner.ok("PUT", shares + name, json={"role": "viewer"})
        assert receive_until(bus, lambda m: m.get("type") == "role")[-1]["role"] == "viewer"
        bus.send(
            json.dumps({"id": 3, "op": "evaluate", "cell_id": notebook["cells"][0], "source": "1"})
        )
        refused = receive_until(bus, lambda m: m.get("type") == "error")[-1]
        assert refused["id"] == 3 and "read-only" in refused["message"]
        assert owner.delete(shares + name).status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            receive_until(bus, lambda m: False)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_completing_in_a_new_notebook_starts_its_engine(
    frontend: LiveFrontend, owner: Client
) -> None:
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    with opened(owner, notebook["id"]) as (bus, first):
        assert first["engine"]["state"] == "none"
        bus.send(json.dumps({"id": 4, "op": "complete", "text": "import o", "cursor": 8}))
        reply = receive_until(bus, lambda m: m.get("type") == "reply")[-1]
        assert reply["id"] == 4 and "os" in reply["content"]["matches"]
