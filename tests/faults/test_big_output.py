"""Issue 13: one print wedged a notebook and the backend for everyone.

A result over the frame limit was refused without its body being skipped, and the backend then
read the payload four bytes at a time as frame headers: 100% CPU, millions of log lines, the
cell busy for ever, /health timing out, other users' cells slow. Now the engine keeps every
message under the limit, and a frame over it (from an engine that does not) stops that engine
alone, with the reason told to the cell.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from codenode.protocol.evaluation import Evaluation
from tests.backend.conftest import TOKEN, Backend, script_plugin
from tests.backend.test_backend import declare, result_of


def bus(backend: Backend, engine_id: str) -> ClientConnection:
    """A bus client that takes messages of any size (a result may hold 32 MiB of output)."""
    url = backend.url.replace("http", "ws") + f"/engines/{engine_id}/bus"
    return connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}, max_size=None)


def evaluate(backend: Backend, engine_id: str, code: str, timeout: float = 20) -> dict[str, Any]:
    """The result of code with its output (or the error, or the engine's death, that ends
    it)."""
    with bus(backend, engine_id) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": code}))
        deadline = time.monotonic() + timeout
        evaluation = Evaluation(1, code)
        while True:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if evaluation.add(message):
                return evaluation.result()


class Watch:
    """While a cell runs elsewhere: another engine's `1+1` and /health, timed, over and over."""

    def __init__(self, backend: Backend, engine_id: str) -> None:
        self.backend, self.engine_id = backend, engine_id
        self.evaluations: list[float] = []
        self.health: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with bus(self.backend, self.engine_id) as ws:
            request = 0
            while not self._stop.is_set():
                request += 1
                started = time.monotonic()
                try:
                    ws.send(json.dumps({"id": request, "op": "evaluate", "code": "1+1"}))
                    result = result_of(ws, request)
                    if result.get("out") != "2\n":
                        self.failures.append(repr(result))
                    self.evaluations.append(time.monotonic() - started)
                    started = time.monotonic()
                    health = self.backend.http.get("/health", timeout=5)
                    if health.json()["status"] != "ok":
                        self.failures.append(health.text)
                    self.health.append(time.monotonic() - started)
                except Exception as exc:  # a timeout is what the bug looked like
                    self.failures.append(repr(exc))
                time.sleep(0.05)


def backend_log(tmp_path: Path) -> str:
    return (tmp_path / "backend.log").read_text(errors="replace")


@pytest.mark.parametrize(
    "code",
    ["print('\\U0001F600' * 17_500_000)", "print('\\x01' * 12_000_000)"],
    ids=["emoji", "control"],
)
def test_a_huge_print_answers_its_cell_and_nobody_else_notices(
    backend: Backend, tmp_path: Path, code: str
) -> None:
    printing = backend.start_engine()
    other = backend.start_engine()
    with Watch(backend, other["id"]) as watch:
        started = time.monotonic()
        result = evaluate(backend, printing["id"], code)
        took = time.monotonic() - started
    assert result["type"] == "result", result
    assert result["out"] and "output limit of 32 MiB reached" in result["err"]
    assert took < 15, took
    assert not watch.failures, watch.failures[:3]
    assert watch.evaluations and max(watch.evaluations) < 1.0, max(watch.evaluations)
    assert evaluate(backend, printing["id"], "1+1")["out"] == "2\n"
    assert evaluate(backend, other["id"], "1+1")["out"] == "2\n"
    assert backend.http.get("/health").json()["status"] == "ok"
    assert backend_log(tmp_path).count("bad frame") == 0


# User code that writes, on its engine's own socket, a frame over the limit: what an engine
# that does not bound its messages (an engine of another language, say) would send.
OVERSIZED = """
import gc
from codenode.engine.server import Connection
connection = next(o for o in gc.get_objects() if isinstance(o, Connection))
payload = '"\\U0001F600'.encode() * 18_000_000
with connection._lock:
    connection.sock.sendall((len(payload)).to_bytes(4, "big") + payload)
"""


def test_a_frame_over_the_limit_stops_that_engine_alone(backend: Backend, tmp_path: Path) -> None:
    wedging = backend.start_engine()
    other = backend.start_engine()
    with Watch(backend, other["id"]) as watch:
        started = time.monotonic()
        answer = evaluate(backend, wedging["id"], OVERSIZED)
        took = time.monotonic() - started
        time.sleep(0.5)  # the backend is watched a little longer
    assert answer["type"] == "error", answer
    assert "over the limit" in answer["message"], answer
    assert took < 10, took
    assert not watch.failures, watch.failures[:3]
    assert max(watch.evaluations) < 1.0 and max(watch.health) < 1.0
    engine = backend.http.get(f"/engines/{wedging['id']}").json()
    assert engine["state"] == "dead" and "over the limit" in engine["exit"]["reason"], engine
    assert backend.http.post(f"/engines/{wedging['id']}/restart").status_code == 200
    assert evaluate(backend, wedging["id"], "1+1")["out"] == "2\n"
    assert evaluate(backend, other["id"], "1+1")["out"] == "2\n"
    assert backend.http.get("/health").json()["status"] == "ok"
    assert backend_log(tmp_path).count("\n") < 100


def test_a_first_frame_over_the_limit_fails_the_start_saying_why(backend: Backend) -> None:
    declare(backend, "oversized.py", script_plugin("oversized", "oversized_ready.py"))
    started = time.monotonic()
    response = backend.http.post("/engines", json={"type": "oversized"})
    assert response.status_code == 503, response.text
    assert "a message of 100,000,000 bytes, over the limit of 64 MiB" in response.text
    assert time.monotonic() - started < 5
    assert backend.http.get("/health").json()["status"] == "ok"


BAD_FRAMES = """
import gc
from codenode.engine.server import Connection
connection = next(o for o in gc.get_objects() if isinstance(o, Connection))
with connection._lock:
    connection.sock.sendall(((5).to_bytes(4, "big") + b"nope!") * 20000)
"""


def test_repeated_log_lines_are_told_once_with_a_count(backend: Backend, tmp_path: Path) -> None:
    engine = backend.start_engine()
    result = evaluate(backend, engine["id"], BAD_FRAMES)
    assert result["type"] == "result", result  # it comes after the 20000 bad frames
    backend.start_engine()  # a different line: the count of the repeated one comes first
    log = backend_log(tmp_path)
    assert log.count("sent a bad frame") == 1, log[-2000:]
    assert "the line above repeated 19999 more times" in log, log[-2000:]
    assert log.index("repeated 19999") < log.rindex("engine started")
    assert evaluate(backend, engine["id"], "1+1")["out"] == "2\n"


def test_repeat_filter_counts_the_same_line_and_tells_the_count() -> None:
    import io
    import logging

    from codenode.backend.serve import RepeatFilter

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    repeat = RepeatFilter(handler, every=3600)
    handler.addFilter(repeat)
    logger = logging.getLogger("test.repeats")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        for _ in range(1000):
            logger.warning("engine %s sent a bad frame", "e1")
        logger.warning("something else")
        logger.warning("something else")
        logger.info("and another")
        assert out.getvalue().splitlines() == [
            "WARNING engine e1 sent a bad frame",
            "WARNING (the line above repeated 999 more times)",
            "WARNING something else",
            "WARNING (the line above repeated 1 more time)",
            "INFO and another",
        ]
        repeat.every = 0  # while it goes on, the count is told as it grows
        out.truncate(0)
        out.seek(0)
        for _ in range(3):
            logger.info("and another")
        assert out.getvalue().splitlines() == ["INFO (the line above repeated 1 more time)"] * 3
    finally:
        logger.removeHandler(handler)
