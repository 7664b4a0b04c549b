"""The backend for real: a `codenode backend` process, real engines, HTTP and WebSocket."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from codenode.backend.cgroups import Cgroups
from codenode.backend.enginetype import Limits
from codenode.protocol.evaluation import Evaluation
from tests.backend.conftest import (
    TEMPLATED,
    TOKEN,
    Backend,
    python_plugin,
    script_plugin,
    start_backend,
)


@pytest.fixture(autouse=True, params=["exec", "forked"])
def how_engines_start(request: pytest.FixtureRequest) -> Any:
    """Every test twice: engines started by exec, and forked from a warm template."""
    TEMPLATED["default"] = request.param == "forked"
    yield request.param
    TEMPLATED["default"] = False


def receive(ws: ClientConnection, timeout: float = 20) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=timeout)))


def attach(ws: ClientConnection) -> dict[str, Any]:
    """The first two messages of a new bus client: the hello, then the engine's state."""
    hello = receive(ws)
    assert hello["type"] == "hello", hello
    return receive(ws)


def until(ws: ClientConnection, predicate: Any, seen: list[dict[str, Any]] | None = None) -> Any:
    while True:
        message = receive(ws)
        if seen is not None:
            seen.append(message)
        if predicate(message):
            return message


def result_of(
    ws: ClientConnection, request_id: Any = 1, seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The result of the evaluate request_id, its output added up from the stream messages
    before it (a result on the wire holds none); every message read is added to seen."""
    evaluation = Evaluation(request_id)
    while True:
        message = receive(ws)
        if seen is not None:
            seen.append(message)
        if evaluation.add(message):
            return evaluation.result()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def declare(backend: Backend, file: str, source: str) -> None:
    """Add a plug-in file to the running backend and wait until it lists its type."""
    (backend.plugins / file).write_text(source)
    name = file.removesuffix(".py")
    listing = backend.wait_for_types(lambda t: any(x["name"] == name for x in t["types"]))
    assert any(x["name"] == name for x in listing["types"]), listing
    backend.wait_for_templates()


def cgroup_has(controller: str) -> bool:
    cgroups = Cgroups()
    try:
        return cgroups.has(controller)
    finally:
        cgroups.close()


ROUTES = [
    ("GET", "/health"),
    ("GET", "/engine-types"),
    ("GET", "/engines"),
    ("POST", "/engines"),
    ("GET", "/engines/x"),
    ("DELETE", "/engines/x"),
    ("POST", "/engines/x/interrupt"),
    ("POST", "/engines/x/restart"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
]


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_every_route_needs_the_token(backend: Backend, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(base_url=backend.url) as anonymous:
        for method, path in ROUTES:
            response = anonymous.request(method, path, headers=headers, json={"type": "python"})
            assert response.status_code == 401, (method, path)
            assert response.json()["error"] == "unauthorized"
    engine = backend.start_engine()
    with pytest.raises(InvalidStatus) as refused:
        backend.bus(engine["id"], token="wrong").close()
    assert refused.value.response.status_code == 401


def test_health_and_openapi(backend: Backend) -> None:
    assert backend.http.get("/health").json()["status"] == "ok"
    spec = backend.http.get("/openapi.json").json()
    assert "/engines" in spec["paths"]


def test_evaluate_streams_over_the_bus_and_state_follows(backend: Backend) -> None:
    engine = backend.start_engine()
    assert engine["state"] == "idle" and engine["type"] == "python"
    with backend.bus(engine["id"]) as ws:
        assert receive(ws) == {"type": "hello", "protocol": 1}  # the bus's version, first
        assert receive(ws) == {"type": "state", "state": "idle"}
        ws.send(json.dumps({"id": "a", "op": "evaluate", "code": "print('hi')\n2+2"}))
        seen: list[dict[str, Any]] = []
        result = result_of(ws, "a", seen)
        assert result["id"] == "a" and result["out"] == "hi\n4\n"
        assert set(seen[-1]) == {"id", "type", "input_count", "cmd_count"}, seen[-1]
        assert {"type": "state", "state": "busy"} in seen
        streamed = [m for m in seen if m.get("type") == "stream"]
        assert "".join(m["text"] for m in streamed) == "hi\n4\n"
        assert all(m["id"] == "a" and m["name"] == "stdout" for m in streamed)
        assert receive(ws) == {"type": "state", "state": "idle"}
        ws.send(json.dumps({"id": 2, "op": "complete", "text": "import o"}))
        reply = until(ws, lambda m: m.get("id") == 2)
        assert "os" in reply["content"]["matches"]
    listed = backend.http.get(f"/engines/{engine['id']}").json()
    assert listed["rss_bytes"] > 1_000_000
    assert listed["last_activity"] >= listed["started"]


def test_two_clients_share_an_engine_each_with_its_own_replies(backend: Backend) -> None:
    engine = backend.start_engine()
    with backend.bus(engine["id"]) as first, backend.bus(engine["id"]) as second:
        attach(first), attach(second)
        first.send(json.dumps({"id": 1, "op": "evaluate", "code": "x = 'from first'"}))
        result_of(first)
        second.send(json.dumps({"id": 1, "op": "evaluate", "code": "x"}))
        result = result_of(second)
        assert result["out"] == "'from first'\n"
        # The first client saw the state changes of the second's request, not its result.
        seen: list[dict[str, Any]] = []
        until(first, lambda m: m == {"type": "state", "state": "idle"}, seen)
        assert all(m.get("type") == "state" for m in seen)


def test_malformed_bus_messages_get_errors(backend: Backend) -> None:
    engine = backend.start_engine()
    with backend.bus(engine["id"]) as ws:
        attach(ws)
        ws.send("not json")
        assert receive(ws)["type"] == "error"
        ws.send(json.dumps({"id": 1, "op": "evaluate"}))
        assert receive(ws) == {
            "id": 1,
            "type": "error",
            "message": "evaluate needs 'code' (a string)",
        }
        ws.send(json.dumps({"id": 4, "op": "evaluate", "code": "1", "shell": "rm -rf /"}))
        assert receive(ws)["message"] == "evaluate: unexpected fields ['shell']"
        ws.send(json.dumps({"id": 2, "op": "rm -rf"}))
        assert "unknown op" in receive(ws)["message"]
        ws.send(json.dumps([1, 2]))
        assert receive(ws)["message"] == "a message must be a JSON object"
        ws.send(json.dumps({"id": 3, "op": "evaluate", "code": "'ok'"}))
        assert result_of(ws, 3)["out"] == "'ok'\n"


def test_input_request_and_reply_over_the_bus(backend: Backend) -> None:
    engine = backend.start_engine()
    with backend.bus(engine["id"]) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "print('hi', input('Who? '))"}))
        asked = until(ws, lambda m: m.get("type") == "input_request")
        assert asked["id"] == 1 and asked["prompt"] == "Who? "
        ws.send(json.dumps({"id": 9, "op": "input_reply", "value": "Ada"}))
        assert result_of(ws)["out"] == "Who? Ada\nhi Ada\n"


def test_interrupt_restart_and_stop(backend: Backend) -> None:
    engine = backend.start_engine()
    engine_id, pid = engine["id"], engine["pid"]
    with backend.bus(engine_id) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "x = 1\nwhile True: pass"}))
        until(ws, lambda m: m.get("state") == "busy")
        assert backend.http.get(f"/engines/{engine_id}").json()["state"] == "busy"
        assert backend.http.post(f"/engines/{engine_id}/interrupt").status_code == 202
        result = result_of(ws)
        assert result["err"].endswith("KeyboardInterrupt\n")
    restarted = backend.http.post(f"/engines/{engine_id}/restart")
    assert restarted.status_code == 200
    assert restarted.json()["id"] == engine_id and restarted.json()["pid"] != pid
    assert wait_gone(pid)
    with backend.bus(engine_id) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "x"}))
        assert "NameError" in result_of(ws)["err"]
    new_pid = restarted.json()["pid"]
    assert backend.http.delete(f"/engines/{engine_id}").status_code == 204
    assert not alive(new_pid)
    assert backend.http.get(f"/engines/{engine_id}").status_code == 404


def test_an_interrupt_as_the_cell_starts_stops_it_and_tells_the_client_nothing_else(
    backend: Backend,
) -> None:
    # The interrupt comes the moment the backend says busy, when the engine may not have read
    # the cell yet; the backend's interrupt request behind it is its own: no reply reaches the
    # client, and the idle engine's next cell is not interrupted.
    engine_id = backend.start_engine()["id"]
    with backend.bus(engine_id) as ws:
        for round_ in range(1, 6):
            ws.send(json.dumps({"id": round_, "op": "evaluate", "code": "while True: pass"}))
            until(ws, lambda m: m.get("state") == "busy")
            assert backend.http.post(f"/engines/{engine_id}/interrupt").status_code == 202
            seen: list[dict[str, Any]] = []
            assert result_of(ws, round_, seen)["err"].endswith("KeyboardInterrupt\n")
            assert not [m for m in seen if m.get("type") in ("reply", "error")], seen
        ws.send(json.dumps({"id": 9, "op": "evaluate", "code": "import time; time.sleep(0.2); 2"}))
        assert result_of(ws, 9)["out"] == "2\n"


def test_a_client_that_asks_for_batches_gets_an_evaluations_burst_in_one_frame(
    backend: Backend,
) -> None:
    engine_id = backend.start_engine()["id"]
    url = backend.url.replace("http", "ws") + f"/engines/{engine_id}/bus?batches=1"
    with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        frames = [json.loads(ws.recv(timeout=10)), json.loads(ws.recv(timeout=10))]
        # The hello alone first (a client reads it before anything), then the state: every
        # frame an array.
        assert frames == [[{"type": "hello", "protocol": 1}], [{"type": "state", "state": "idle"}]]
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "2+2"}))
        busy, burst = json.loads(ws.recv(timeout=10)), json.loads(ws.recv(timeout=10))
    assert busy == [{"type": "state", "state": "busy"}]
    # The output and the result left the engine in one write, and the backend with the new
    # state in one frame: 2 frames for the evaluation, not 4.
    assert [m["type"] for m in burst] == ["stream", "result", "state"]
    assert burst[0]["text"] == "4\n" and burst[2]["state"] == "idle"


def test_unknown_and_unavailable_types(backend: Backend, plugins: Path) -> None:
    missing = backend.http.post("/engines", json={"type": "cobol"})
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_engine_type"
    (plugins / "gone.py").write_text(
        "from codenode.backend.enginetype import EngineType\n"
        "g = EngineType(name='gone', bin='/nonexistent/python')\n"
    )
    backend.wait_for_types(lambda t: any(x["name"] == "gone" for x in t["types"]))
    unavailable = backend.http.post("/engines", json={"type": "gone"})
    assert unavailable.status_code == 503
    assert "/nonexistent/python" in unavailable.json()["message"]
    bad = backend.http.post("/engines", json={"kind": "python"})
    assert bad.status_code == 422 and bad.json()["error"] == "bad_request"


def test_engine_that_never_says_ready_is_killed_and_explained(
    backend: Backend, plugins: Path
) -> None:
    declare(backend, "never.py", script_plugin("never", "never_ready.py", start_timeout=1))
    response = backend.http.post("/engines", json={"type": "never"})
    assert response.status_code == 503
    message = response.json()["message"]
    assert "did not say ready within 1 s" in message
    assert "never_ready: I will not say ready" in message
    assert backend.http.get("/engines").json()["engines"] == []


def test_engine_that_ignores_sigterm_is_killed(backend: Backend, plugins: Path) -> None:
    declare(backend, "stubborn.py", script_plugin("stubborn", "stubborn.py"))
    engine = backend.start_engine("stubborn")
    started = time.monotonic()
    assert backend.http.delete(f"/engines/{engine['id']}").status_code == 204
    assert time.monotonic() - started > 2.5  # it went through asking and SIGTERM first
    assert not alive(engine["pid"])


def test_engine_dying_mid_evaluate_is_reported(backend: Backend) -> None:
    engine = backend.start_engine()
    with backend.bus(engine["id"]) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "import os\nos._exit(3)"}))
        error = until(ws, lambda m: m.get("type") == "error")
        assert error["id"] == 1 and "exited with code 3" in error["message"]
        dead = until(ws, lambda m: m.get("state") == "dead")
        assert dead["exit_code"] == 3 and dead["reason"] == "exited with code 3"
    listed = backend.http.get(f"/engines/{engine['id']}").json()
    assert listed["state"] == "dead" and listed["exit"]["exit_code"] == 3


def test_engine_killed_by_a_signal_is_explained(backend: Backend) -> None:
    engine = backend.start_engine()
    with backend.bus(engine["id"]) as ws:
        attach(ws)
        os.kill(engine["pid"], signal.SIGKILL)
        dead = until(ws, lambda m: m.get("state") == "dead")
    assert dead["signal"] == "SIGKILL"
    assert "killed by SIGKILL" in dead["reason"]
    if cgroup_has("memory"):  # the kernel would have said so: a kill -9 is not its memory
        assert "not for its memory" in dead["reason"] and "out of memory" not in dead["reason"]


def test_memory_limit_is_enforced_and_explained(backend: Backend, plugins: Path) -> None:
    declare(backend, "small.py", python_plugin("small", limits=Limits(memory_mb=300)))
    engine = backend.start_engine("small")
    with backend.bus(engine["id"]) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "x = b'x' * (600 * 2**20)"}))
        if cgroup_has("memory"):  # the kernel kills it, and the backend says why
            dead = until(ws, lambda m: m.get("state") == "dead")
            assert dead["reason"] == "killed: memory limit of 300 MB exceeded"
            assert dead["signal"] == "SIGKILL"
        else:  # address-space limit: the allocation fails, the engine lives on
            result = result_of(ws)
            assert result["err"].endswith("MemoryError\n")
    assert backend.http.get("/health").json()["status"] == "ok"


def test_fork_bomb_is_stopped_by_the_process_limit(backend: Backend, plugins: Path) -> None:
    if not cgroup_has("pids") and os.geteuid() == 0:
        pytest.skip("root ignores RLIMIT_NPROC and no pids cgroup can be made here")
    declare(backend, "few.py", python_plugin("few", limits=Limits(processes=20)))
    engine = backend.start_engine("few")
    bomb = (
        "import os, time\n"
        "children = []\n"
        "for _ in range(200):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
    )
    with backend.bus(engine["id"]) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": bomb}))
        result = result_of(ws)
        assert "BlockingIOError" in result["err"] or "Resource temporarily" in result["err"]
        ws.send(json.dumps({"id": 2, "op": "evaluate", "code": "len(children) < 20"}))
        assert result_of(ws, 2)["out"] == "True\n"
    assert backend.http.delete(f"/engines/{engine['id']}").status_code == 204
    assert backend.http.get("/health").json()["status"] == "ok"


def test_flooding_engine_is_capped(backend: Backend, plugins: Path) -> None:
    declare(backend, "capped.py", python_plugin("capped", limits=Limits(output_chars=100000)))
    engine = backend.start_engine("capped")
    with backend.bus(engine["id"]) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "while True: print('x' * 100)"}))
        until(ws, lambda m: m.get("state") == "busy")
        time.sleep(1)
        backend.http.post(f"/engines/{engine['id']}/interrupt")
        result = result_of(ws)
        assert len(result["out"]) == 100000
        assert "output limit of 100000 characters" in result["err"]


def test_pool_hands_out_a_ready_engine(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    # A pool is for unsandboxed types: a sandboxed engine is started for its workspace.
    (folder / "pooled.py").write_text(python_plugin("pooled", pool=2, sandbox=False))
    backend = start_backend(folder, tmp_path)
    try:
        deadline = time.monotonic() + 20
        metrics = ""
        while 'codenode_engines{state="pooled",type="pooled"} 2.0' not in metrics:
            assert time.monotonic() < deadline, metrics
            time.sleep(0.05)
            metrics = backend.http.get("/metrics").text
        engine = backend.start_engine("pooled")
        assert engine["started"] < time.time() - 0.01  # it was started before it was asked for
        assert (
            'codenode_engine_starts_total{type="pooled"} 1.0' in backend.http.get("/metrics").text
        )
    finally:
        backend.close()


def test_no_engine_outlives_a_killed_backend(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "python.py").write_text(python_plugin(pool=1))
    backend = start_backend(folder, tmp_path)
    try:
        pids = [backend.start_engine()["pid"] for _ in range(3)]
        with backend.bus(backend.http.get("/engines").json()["engines"][0]["id"]) as ws:
            ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "while True: pass"}))
            until(ws, lambda m: m.get("state") == "busy")
            os.kill(backend.process.pid, signal.SIGKILL)
            backend.process.wait(10)
    finally:
        backend.close()  # stops it, should the test fail before killing it
    for pid in pids:
        assert wait_gone(pid, 5), f"engine {pid} outlived its backend"


def test_sigterm_stops_the_backend_and_every_engine(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "python.py").write_text(python_plugin())
    backend = start_backend(folder, tmp_path)
    try:
        pids = [backend.start_engine()["pid"] for _ in range(2)]
        backend.process.send_signal(signal.SIGTERM)
        # uvicorn shuts down cleanly, then ends by the signal it caught, as a process should.
        assert backend.process.wait(15) in (0, -signal.SIGTERM)
    finally:
        backend.close()
    assert not any(alive(pid) for pid in pids)


def test_engine_whose_code_closes_its_descriptors_is_explained(backend: Backend) -> None:
    engine = backend.start_engine()
    with backend.bus(engine["id"]) as ws:
        code = "import os\nos.closerange(0, 200)"  # its socket and output pipes among them
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": code}))
        dead = until(ws, lambda m: m.get("state") == "dead")
    assert dead["exit_code"] == 71
    assert "closed the engine's own file descriptors" in dead["reason"], dead
