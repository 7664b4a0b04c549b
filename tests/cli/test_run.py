"""`codenode run` on a new environment: frontend, local backend, first admin, a notebook runs;
Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.backend.conftest import outer_pid
from tests.frontend.live import Client


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def launch_run(tmp_path: Path, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """`codenode run` on a new environment in tmp_path, any free ports, SQLite."""
    env = {**os.environ, "CODENODE_HOME": str(tmp_path / "home")}
    env.pop("CODENODE_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "codenode", "run", "--port", "0", "--backend-port", "0"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
        start_new_session=True,
    )


def test_run_starts_everything_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    process = launch_run(tmp_path)
    assert process.stdout is not None
    printed = ""
    try:
        while "Press Ctrl-C" not in printed:
            line = process.stdout.readline()
            assert line, printed
            printed += line
        address = re.search(r"running at (http://\S+)", printed).group(1)  # type: ignore[union-attr]
        password = re.search(r"'admin' with the password (\S+)", printed).group(1)  # type: ignore[union-attr]
        assert (tmp_path / "home" / "codenode.db").exists()

        admin = Client(address)
        assert admin.login("admin", password).status_code == 200
        notebook = admin.ok(
            "POST", "/api/notebooks", 201, json={"title": "First", "engine_type": "python"}
        )
        cell = notebook["cells"][0]["id"]
        with admin.bus(notebook["id"]) as bus:
            assert json.loads(bus.recv(timeout=10))["type"] == "notebook"
            bus.send(
                json.dumps({"op": "evaluate", "cell_id": cell, "source": "import os; os.getpid()"})
            )
            outputs = []
            while True:
                message = json.loads(bus.recv(timeout=30))
                if message["type"] == "output":
                    outputs.append(message["output"]["text"])
                if message["type"] == "result":
                    break
        # The engine's pid in its sandbox's PID namespace; the host's is found from there.
        engine_pid = outer_pid(int("".join(outputs)), process.pid)
        assert alive(engine_pid)
        # The ipython type ships too: a magic runs in a notebook of that type.
        types = {t["name"]: t for t in admin.ok("GET", "/api/engine-types")["types"]}
        assert types["ipython"]["backends"] == ["local"], types
        magic = admin.ok(
            "POST", "/api/notebooks", 201, json={"title": "Magic", "engine_type": "ipython"}
        )
        magic_cell = magic["cells"][0]["id"]
        with admin.bus(magic["id"]) as bus:
            assert json.loads(bus.recv(timeout=10))["type"] == "notebook"
            bus.send(json.dumps({"op": "evaluate", "cell_id": magic_cell, "source": "%time 6*7"}))
            shown = ""
            while True:
                message = json.loads(bus.recv(timeout=60))
                if message["type"] == "output" and "text" in message["output"]:
                    shown += message["output"]["text"]
                if message["type"] == "result":
                    break
        assert "Wall time" in shown and "42" in shown, shown
        admin.close()
        backend_pids = [
            int(pid)
            for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        ]
        assert backend_pids

        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(30) == 0 or process.returncode in (0, -signal.SIGINT, 130)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in [engine_pid, *backend_pids]):
            assert time.monotonic() < deadline, "an engine or the backend outlived codenode run"
            time.sleep(0.1)
        try:
            httpx.get(address + "/api/health", timeout=2)
            raise AssertionError("the frontend still answers")
        except httpx.TransportError:
            pass
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_open_signup_with_an_unsandboxed_type_is_refused_unless_allowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "CODENODE_HOME": str(home)}
    env.pop("CODENODE_DATABASE_URL", None)
    assert subprocess.run([sys.executable, "-m", "codenode", "init"], env=env).returncode == 0
    laptop = (
        (home / "plugins" / "python.py")
        .read_text()
        .replace("templated=True,", "templated=True,\n    sandbox=False,")
    )
    (home / "plugins" / "python.py").write_text(laptop)
    command = [sys.executable, "-m", "codenode", "run", "--port", "0", "--backend-port", "0"]
    refused = subprocess.run(
        [*command, "--signup", "open"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0
    assert "sandbox=False" in refused.stderr and "--allow-unsandboxed" in refused.stderr
    allowed = subprocess.Popen(
        [*command, "--signup", "open", "--allow-unsandboxed"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert allowed.stdout is not None
    try:
        printed = ""
        while "Press Ctrl-C" not in printed:
            line = allowed.stdout.readline()
            assert line, printed
            printed += line
    finally:
        allowed.send_signal(signal.SIGINT)
        allowed.wait(30)
        allowed.stdout.close()
