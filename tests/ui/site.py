"""A real `codenode run` for the browser tests, and the accounts and notebooks they set up.

The site is the whole product as a person starts it: ``codenode run`` on a free port (its
local backend too) with a fresh environment folder and sign-up open. Tests set up what they
need through the REST API (``tests.frontend.live.Client``), then look at it in the browser.
"""

from __future__ import annotations

import itertools
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from codenode.frontend.db import default_url
from codenode.frontend.sessions import SESSION_COOKIE
from tests.frontend.live import PASSWORD, Client, LiveFrontend

_names = itertools.count(1)


class Site(LiveFrontend):
    """`codenode run` (frontend and local backend) on free ports, signed-up users over HTTP."""

    def __init__(self, home: Path) -> None:
        super().__init__(home, default_url(home))
        self.admin_password = ""

    def start(self) -> None:
        """Start `codenode run` and wait until it answers; remember the first admin's password."""
        log = open(self.home / "run.log", "a")  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "codenode", "run", "--port", "0", "--backend-port", "0"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        assert self.process.stdout is not None
        printed = []
        while not self.url or not printed[-1].startswith("Press Ctrl-C"):
            line = self.process.stdout.readline()
            assert line, "codenode run stopped:\n" + "".join(printed) + self.log()
            printed.append(line)
            if line.startswith("Codenode is running at "):
                self.url = line.split()[4]
            elif line.startswith("First admin:"):
                self.admin_password = line.split()[-1]
        self.wait_for_health()

    def log(self) -> str:
        path = self.home / "run.log"
        return path.read_text() if path.exists() else ""

    @property
    def env(self) -> dict[str, str]:
        # The frontend of `codenode run` uses the database in its environment folder.
        return {key: value for key, value in super().env.items() if key != "CODENODE_DATABASE_URL"}

    def sign_up(self, prefix: str = "ui") -> Client:
        """A client signed in as a new account, made through the open sign-up."""
        name = f"{prefix}{next(_names)}{secrets.token_hex(2)}"
        client = self.client()
        response = client.post("/api/signup", json={"username": name, "password": PASSWORD})
        assert response.status_code == 201, response.text
        client.user = response.json()["user"]
        return client

    def admin(self) -> Client:
        """A client signed in as the first admin."""
        client = self.client()
        response = client.login("admin", self.admin_password)
        assert response.status_code == 200, response.text
        return client

    def notebook_url(self, notebook_id: str) -> str:
        return f"{self.url}/notebooks/{notebook_id}"


def make_notebook(
    client: Client, cells: list[tuple[str, str]], title: str = "Test"
) -> dict[str, Any]:
    """A notebook of *client*'s with these (kind, source) cells; its dict with ``cells`` ids."""
    notebook = client.new_notebook(title)
    first = notebook["cells"][0]["id"]
    kind, source = cells[0]
    client.ok(
        "PATCH",
        f"/api/notebooks/{notebook['id']}/cells/{first}",
        json={"kind": kind, "source": source},
    )
    ids = [first]
    for position, (kind, source) in enumerate(cells[1:], start=1):
        cell = client.ok(
            "POST",
            f"/api/notebooks/{notebook['id']}/cells",
            201,
            json={"position": position, "kind": kind, "source": source},
        )
        ids.append(cell["id"])
    return {**notebook, "cells": ids}


def session_cookies(client: Client) -> list[dict[str, Any]]:
    """*client*'s session cookie as Playwright takes it: a browser context signed in as them."""
    value = client.http.cookies.get(SESSION_COOKIE)
    assert value, "the client is not signed in"
    return [{"name": SESSION_COOKIE, "value": value, "url": client.url}]


SCREENSHOTS = os.environ.get("CODENODE_UI_SCREENSHOTS", "")
