"""`codenode run` keeps its local backend running: killed, it comes back on the same address,
and a notebook gets an engine again without anyone restarting Codenode (issue 13: a killed
backend was never restarted, and every evaluation failed until a person did)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.cli.test_run import alive, launch_run
from tests.frontend.live import Client, receive_until


def backend_children(pid: int) -> list[int]:
    """The processes run started, from any of its threads (a restart forks from another)."""
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        children += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return children


def until_said(stream: Any, words: str) -> str:
    """What a stream says up to the line that has words (the backend's own log lines too)."""
    said = ""
    while words not in said:
        line = stream.readline()
        assert line, said
        said += line
    return said


def evaluate(client: Client, notebook: dict, source: str) -> list[dict]:  # type: ignore[type-arg]
    cell = notebook["cells"][0]["id"]
    with client.bus(notebook["id"]) as bus:
        assert json.loads(bus.recv(timeout=10))["type"] == "notebook"
        bus.send(json.dumps({"op": "evaluate", "cell_id": cell, "source": source}))
        return receive_until(
            bus, lambda m: m.get("type") == "result" and m.get("cell_id") == cell, 60
        )


def test_a_killed_backend_is_started_again_and_notebooks_run_again(tmp_path: Path) -> None:
    process = launch_run(tmp_path, subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    admin: Client | None = None
    try:
        printed = ""
        while "Press Ctrl-C" not in printed:
            line = process.stdout.readline()
            assert line, printed
            printed += line
        address = re.search(r"running at (http://\S+)", printed).group(1)  # type: ignore[union-attr]
        backend_url = re.search(r"local backend at (http://\S+)\)", printed).group(1)  # type: ignore[union-attr]
        password = re.search(r"'admin' with the password (\S+)", printed).group(1)  # type: ignore[union-attr]
        admin = Client(address)
        assert admin.login("admin", password).status_code == 200
        notebook = admin.ok(
            "POST", "/api/notebooks", 201, json={"title": "T", "engine_type": "python"}
        )
        first = evaluate(admin, notebook, "x = 1; print('before')")
        assert "error" not in first[-1], first[-1]
        [old] = backend_children(process.pid)
        for _ in range(2):  # twice: the second restart waits longer (back-off)
            [backend] = backend_children(process.pid)
            os.kill(backend, signal.SIGKILL)
            said = until_said(process.stderr, f"the local backend is back at {backend_url}")
            assert "the local backend ended (exit code -9)" in said, said
            [new] = backend_children(process.pid)
            assert new != backend and not alive(backend)
            again = evaluate(admin, notebook, "print('x' in dir())")
            assert "error" not in again[-1], again[-1]
            text = "".join(
                m["output"]["text"]
                for m in again
                if m.get("type") == "output" and m["output"]["type"] == "stream"
            )
            assert text == "False\n", again  # a fresh engine: the old one died with its backend
        assert old not in backend_children(process.pid)
        process.send_signal(signal.SIGINT)
        process.wait(30)
        assert not alive(new)  # stopped for good with run: not started again
    finally:
        if admin is not None:
            admin.close()
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in backend_children(process.pid) if process.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
        process.stdout.close()
        process.stderr.close()
