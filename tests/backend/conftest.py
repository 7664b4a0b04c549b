"""A real backend process on a port the OS picks, with plug-in files written per test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ROOT / "tests" / "engines"
TOKEN = "test-token-" + "x" * 20
# Whether python_plugin's types fork their engines from a template unless told otherwise: the
# backend tests run both ways (see the start fixture in test_backend.py).
TEMPLATED = {"default": False}


def python_plugin(name: str = "python", **fields: Any) -> str:
    """A plug-in file declaring a Python engine type on this interpreter."""
    fields.setdefault("templated", TEMPLATED["default"])
    extra = "".join(f"    {key}={value!r},\n" for key, value in fields.items())
    return (
        textwrap.dedent(
            f"""\
        from codenode.backend.enginetype import EngineType, Limits
        {name.replace("-", "_")} = EngineType(
            name={name!r},
            bin={sys.executable!r},
            args=["-m", "codenode.engine"],
            env={{"PYTHONPATH": {str(ROOT)!r}}},
        """
        )
        + extra
        + ")\n"
    )


def script_plugin(name: str, script: str, **fields: Any) -> str:
    """A plug-in file declaring a misbehaving engine from tests/engines."""
    extra = "".join(f"    {key}={value!r},\n" for key, value in fields.items())
    return (
        "from codenode.backend.enginetype import EngineType, Limits\n"
        f"t = EngineType(name={name!r}, bin={sys.executable!r}, "
        f"args=[{str(ENGINES / script)!r}],\n{extra})\n"
    )


class Backend:
    """A running `codenode backend` and clients for it."""

    def __init__(
        self, plugins: Path, process: subprocess.Popen[str], url: str, verify: Any = True
    ) -> None:
        self.plugins = plugins
        self.process = process
        self.url = url
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30, verify=verify
        )

    def close(self) -> None:
        """Stop the backend (SIGTERM, then SIGKILL) and close every handle on it."""
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def start_engine(self, type_name: str = "python") -> dict[str, Any]:
        response = self.http.post("/engines", json={"type": type_name})
        assert response.status_code == 201, response.text
        engine = dict(response.json())
        # Forked exactly when the type's template is ready: the fallback to exec is the exception.
        types = {t["name"]: t for t in self.http.get("/engine-types").json()["types"]}
        template = types.get(type_name, {}).get("template")
        usable = template is not None and template["state"] == "ready" and "problem" not in template
        assert engine["forked"] == usable, (
            engine,
            template,
        )
        return engine

    def bus(self, engine_id: str, token: str = TOKEN) -> ClientConnection:
        ws_url = self.url.replace("http", "ws") + f"/engines/{engine_id}/bus"
        return connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"})

    def wait_for_templates(self, timeout: float = 20.0) -> dict[str, Any]:
        """Wait until every templated type's template is ready (or has a problem)."""

        def settled(listing: dict[str, Any]) -> bool:
            templates = [t["template"] for t in listing["types"] if "template" in t]
            return all(t["state"] == "ready" or "problem" in t for t in templates)

        return self.wait_for_types(settled, timeout)

    def wait_for_types(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            listing = dict(self.http.get("/engine-types").json())
            if predicate(listing) or time.monotonic() > deadline:
                return listing
            time.sleep(0.05)


def start_backend(
    plugins: Path, tmp_path: Path, extra: list[str] | None = None, verify: Any = True
) -> Backend:
    env = {**os.environ, "CODENODE_BACKEND_TOKEN": TOKEN, "CODENODE_HOME": str(tmp_path / "home")}
    with open(tmp_path / "backend.log", "w") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "codenode", "backend", "--port", "0"),
                *("--plugins", str(plugins), *(extra or [])),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            start_new_session=True,
        )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert "listening on" in first, first + (tmp_path / "backend.log").read_text()
    url = first.split("listening on ")[1].strip()
    backend = Backend(plugins, process, url, verify)
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            try:
                if backend.http.get("/health").status_code == 200:
                    backend.wait_for_templates()
                    return backend
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("backend did not answer /health")
    except BaseException:
        backend.close()
        raise


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "python.py").write_text(python_plugin())
    return folder


@pytest.fixture
def backend(plugins: Path, tmp_path: Path) -> Iterator[Backend]:
    running = start_backend(plugins, tmp_path)
    yield running
    running.close()


def parent_of(pid: int) -> int:
    """The parent of a process, as this (the host's) PID namespace numbers it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise LookupError(pid)


def outer_pid(inner: int, engine_pid: int) -> int:
    """The host's number of a process that a sandboxed engine (listed as engine_pid) knows as
    inner: its own PID namespace numbers from 1."""
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        numbers = next(line for line in status.splitlines() if line.startswith("NSpid:"))
        found = [int(n) for n in numbers.split()[1:]]
        if len(found) > 1 and found[-1] == inner and _descends(int(name), engine_pid):
            return int(name)
    raise LookupError(f"no process {inner} in the sandbox of {engine_pid}")


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = parent_of(pid)
        except (OSError, LookupError):
            return False
    return False
