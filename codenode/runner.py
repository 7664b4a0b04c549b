"""``codenode run``: everything on one machine: the environment, a local backend, the frontend.

The backend is a child process (its own token from the environment folder, registered in the
database as "local" each time, since its port may change); Ctrl-C stops the frontend, then the
backend and with it every engine. If this process is killed outright, the kernel stops the
backend too (parent-death signal).
"""

from __future__ import annotations

import asyncio
import ctypes
import signal
import subprocess
import sys
import webbrowser
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from codenode import environment, settings
from codenode.frontend import serve
from codenode.frontend.db import Backend, create_engine, session_factory
from codenode.frontend.users import ensure_first_admin

LOCAL = "local"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


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
        preexec_fn=_die_with_parent,  # no threads run yet in this process
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
    backend, backend_url = start_backend(home, values["backend-port"])
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
        if backend.poll() is None:
            backend.send_signal(signal.SIGTERM)
            try:
                backend.wait(20)
            except subprocess.TimeoutExpired:
                backend.kill()
                backend.wait()
