"""A real frontend process for the tests, and HTTP/WebSocket clients that sign in to it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from codenode.frontend.db import Backend, create_engine, session_factory
from codenode.frontend.sessions import CSRF_COOKIE
from codenode.frontend.users import add_user

PASSWORD = "correct horse battery"
_names = itertools.count(1)


async def _in_database(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            return await work(db)
    finally:
        await engine.dispose()


def off_loop(function: Any, *args: Any) -> Any:
    """``function(*args)`` in a thread of its own: Playwright's sync API keeps an event loop
    running in the test's thread, where ``asyncio.run`` (and Alembic's upgrade) refuse."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def in_database(url: str, work: Any) -> Any:
    """Run ``await work(session)`` on the database at *url*."""
    return off_loop(asyncio.run, _in_database(url, work))


def register_backend(database_url: str, name: str, url: str, token: str) -> None:
    async def add(db: Any) -> None:
        db.add(Backend(name=name, url=url, token=token))
        await db.commit()

    in_database(database_url, add)


class Client:
    """A browser-like client: keeps cookies, echoes the CSRF cookie on state-changing requests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self.user: dict[str, Any] | None = None

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if method.upper() not in ("GET", "HEAD", "OPTIONS"):
            if CSRF_COOKIE not in self.http.cookies:
                self.http.get("/api/session")
            csrf = self.http.cookies.get(CSRF_COOKIE)
            if csrf:
                headers.setdefault("X-CSRF-Token", csrf)
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        response = self.post("/api/login", json={"username": name, "password": password})
        if response.status_code == 200:
            self.user = response.json()["user"]
        return response

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """The JSON answer of a request that must succeed with *status*."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def new_notebook(self, title: str = "Untitled", engine_type: str = "python") -> dict[str, Any]:
        notebook: dict[str, Any] = self.ok(
            "POST", "/api/notebooks", 201, json={"title": title, "engine_type": engine_type}
        )
        return notebook

    def bus(self, notebook_id: str, origin: str | None = None, query: str = "") -> ClientConnection:
        """The notebook's bus, signed in as this client (*query*: ``?batches=1``, say)."""
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        headers = {"Cookie": cookies, "Origin": origin or self.url}
        return connect(
            self.url.replace("http", "ws", 1) + f"/api/notebooks/{notebook_id}/bus{query}",
            additional_headers=headers,
            open_timeout=10,
            max_size=None,  # as a browser: no cap on one message
        )


def receive_until(
    bus: ClientConnection, predicate: Any, timeout: float = 20
) -> list[dict[str, Any]]:
    """Messages from *bus* up to and including the first for which *predicate* is true."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; received {seen[-10:]}"
        message = json.loads(bus.recv(timeout=left))
        seen.append(message)
        if predicate(message):
            return seen


class LiveFrontend:
    """A running `codenode frontend` on a free port, its environment folder and database."""

    def __init__(self, home: Path, database_url: str, extra_env: dict[str, str] | None = None):
        self.home = home
        self.database_url = database_url
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.clients: list[Client] = []

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CODENODE_HOME": str(self.home),
            "CODENODE_DATABASE_URL": self.database_url,
            "CODENODE_SIGNUP": "open",
            **self.extra_env,
        }

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a `codenode` command on this frontend's environment."""
        return subprocess.run(
            [sys.executable, "-m", "codenode", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> None:
        init = self.cli("init", str(self.home))
        assert init.returncode == 0, init.stderr
        log = open(self.home / "frontend.log", "a")  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "codenode", "frontend", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        assert "listening on" in first, first + self.log()
        self.url = first.split("listening on ")[1].strip()
        self.wait_for_health()

    def wait_for_health(self) -> None:
        """Until the frontend at self.url answers /api/health (20 s at most)."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"{self.url} did not answer /api/health\n" + self.log())

    def log(self) -> str:
        path = self.home / "frontend.log"
        return path.read_text() if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def client(self) -> Client:
        client = Client(self.url)
        self.clients.append(client)
        return client

    def add_user(self, name: str | None = None, admin: bool = False) -> str:
        """A new user in the database (a fresh name unless given); its name."""
        name = name or f"user{next(_names)}"

        async def add(db: Any) -> None:
            await add_user(db, name, PASSWORD, admin)

        in_database(self.database_url, add)
        return name

    def notebook(self, owner: str, title: str = "Test", cells: list[str] | None = None) -> Any:
        """A notebook made straight in the database: its dict with the cells' ids."""

        async def make(db: Any) -> Any:
            from codenode.frontend import notebooks
            from codenode.frontend.users import by_name

            user = await by_name(db, owner)
            made = await notebooks.create(
                db, user.id, title, "python", [{"source": s} for s in cells or [""]]
            )
            return {**notebooks.notebook_dict(made), "cells": [c.id for c in made.cells]}

        return in_database(self.database_url, make)

    def stored_cell(self, cell_id: str) -> Any:
        """A cell as the database has it."""

        async def read(db: Any) -> Any:
            from codenode.frontend.db import Cell

            cell = await db.get(Cell, cell_id)
            return (
                None
                if cell is None
                else {"source": cell.source, "outputs": cell.outputs, "count": cell.execution_count}
            )

        return in_database(self.database_url, read)

    def user(self, name: str | None = None, admin: bool = False) -> Client:
        """A client signed in as a new user."""
        client = self.client()
        response = client.login(self.add_user(name, admin))
        assert response.status_code == 200, response.text
        return client
