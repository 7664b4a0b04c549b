"""``codenode run``: everything on one machine: the environment, a local backend, the frontend.

The backend is a child process (its own token from the environment folder, registered in the
database as "local" each time, since its port may change), started again if it dies
(LocalBackend); Ctrl-C or SIGTERM stops the
frontend, then the backend and with it every engine: SIGTERM to the backend, and SIGKILL to it
if it is still there after BACKEND_GRACE_SECONDS, whatever state it is in. If this process is
killed outright, the kernel stops the backend too (parent-death signal).
"""

from __future__ import annotations

import asyncio
import ctypes
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from sqlalchemy import select

from codenode import environment, settings
from codenode.frontend import serve
from codenode.frontend.db import Backend, create_engine, session_factory
from codenode.frontend.users import ensure_first_admin

LOCAL = "local"
PR_SET_PDEATHSIG = 1
# A backend stops its engines in at most ~3 s (ask, SIGTERM, SIGKILL: all at once).
BACKEND_GRACE_SECONDS = 10.0
# A backend that dies is started again after this, doubling up to the maximum while it keeps
# dying within STABLE_SECONDS of its start.
RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 30.0
STABLE_SECONDS = 60.0


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # uvicorn answers SIGTERM by shutting the frontend down, then sends it again to the handler
    # it found: this one, so that `run` still stops the backend on its way out (with the
    # default action, this process would die there and leave the backend to its own devices).
    raise SystemExit(128 + signum)


def stop_backend(process: subprocess.Popen[str], grace: float = BACKEND_GRACE_SECONDS) -> None:
    """SIGTERM to the backend; SIGKILL to it if it has not gone after grace seconds (or at
    once on a second Ctrl-C or SIGTERM while it is waited for)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        print(
            f"the local backend (pid {process.pid}) did not stop within {grace:g} s: killing it",
            file=sys.stderr,
            flush=True,
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class LocalBackend:
    """The local backend, kept running: if it dies (killed, crashed), it is started again on
    the same port after a back-off (1 s, doubling to 30 s while it keeps dying at once), so
    that notebooks get engines again without anyone restarting Codenode. Their engines died
    with it: each notebook is told so, and its next run starts a fresh engine."""

    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.process, self.url = start_backend(home, port)
        self.port = int(self.url.rsplit(":", 1)[1])  # the same port again: its URL stays
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._supervise, name="backend", daemon=True)
        self._watcher.start()

    def _supervise(self) -> None:
        delay = RESTART_DELAY_SECONDS
        while True:
            started = time.monotonic()
            code = self.process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > STABLE_SECONDS:
                delay = RESTART_DELAY_SECONDS  # it had run well: this is a new trouble
            print(
                f"the local backend ended (exit code {code}): starting it again in {delay:g} s",
                file=sys.stderr,
                flush=True,
            )
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_RESTART_DELAY_SECONDS)
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    self.process, _ = start_backend(self.home, self.port)
                except SystemExit as exc:
                    print(f"{exc}; trying again", file=sys.stderr, flush=True)
                    continue
                self.restarts += 1
            print(f"the local backend is back at {self.url}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        """Stop it for good (SIGTERM, then SIGKILL after the grace)."""
        self._stopping.set()
        with self._lock:
            stop_backend(self.process)


def start_backend(home: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """The local backend, and its address once it listens."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "codenode", "backend", "--host", "127.0.0.1"),
            *("--port", str(port), "--plugins", str(home / "plugins")),
            *("--token-file", str(home / environment.TOKEN_FILE)),
        ],
        stdout=subprocess.PIPE,
        text=True,
        # The first time no other thread runs yet; later the supervising thread forks, and
        # the parent-death signal follows it: it lives as long as the backend is wanted.
        preexec_fn=_die_with_parent,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    if "listening on" not in first:
        process.wait()
        raise SystemExit(f"the local backend did not start (exit code {process.returncode})")
    process.stdout.readline()  # where its plug-ins and token are: we know
    return process, first.split("listening on ")[1].strip()


async def _prepare_database(url: str, backend_url: str, token: str) -> str | None:
    """Register the local backend; make the first admin on a new database (its password)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            local = (
                await db.execute(select(Backend).where(Backend.name == LOCAL))
            ).scalar_one_or_none()
            if local is None:
                db.add(Backend(name=LOCAL, url=backend_url, token=token))
            else:
                local.url, local.token = backend_url, token
            await db.commit()
            return await ensure_first_admin(db)
    finally:
        await engine.dispose()


def unsandboxed_types(backend_url: str, token: str) -> list[str]:
    """The local backend's engine types that run without a sandbox (sandbox=False)."""
    answer = httpx.get(
        f"{backend_url}/engine-types", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    answer.raise_for_status()
    return [t["name"] for t in answer.json()["types"] if t.get("sandbox") is False]


def refuse_open_signup_unsandboxed(names: list[str]) -> str:
    """Why `codenode run --signup open` must not start with these unsandboxed types."""
    return (
        f"refusing to run with --signup open: engine type(s) {', '.join(names)} are declared"
        " sandbox=False, so anyone who signs up could read and change this machine's files as"
        " the backend's user. Remove sandbox=False from their plug-in files, or start with"
        " --allow-unsandboxed if that is what you want."
    )


def run(given: dict[str, Any], open_browser: bool = False, allow_unsandboxed: bool = False) -> None:
    """Initialise if needed, start the local backend and the frontend; stop both on Ctrl-C."""
    home = environment.default_home()
    for line in environment.init(home):
        print(line)
    values = settings.resolve(home, given)
    config = serve.load_config(home, values)
    listener = serve.listen(values["host"], values["port"])
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    local = LocalBackend(home, values["backend-port"])
    backend_url = local.url
    try:
        token = (home / environment.TOKEN_FILE).read_text().strip()
        if values["signup"] == "open" and not allow_unsandboxed:
            names = unsandboxed_types(backend_url, token)
            if names:
                raise SystemExit(refuse_open_signup_unsandboxed(names))
        password = asyncio.run(_prepare_database(config.database_url, backend_url, token))
        host, port = listener.getsockname()[:2]
        address = f"http://{host}:{port}"
        print(f"Codenode is running at {address} (local backend at {backend_url})")
        if password is not None:
            print(f"First admin: sign in as 'admin' with the password {password}")
            print("  (shown this once; change it after signing in, or: codenode passwd admin)")
        print("Press Ctrl-C to stop.", flush=True)
        if open_browser:
            webbrowser.open(address)
        serve.serve(config, listener)
    finally:
        local.stop()
