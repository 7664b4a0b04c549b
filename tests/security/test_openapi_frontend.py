"""Schemathesis over the frontend's own OpenAPI description, on a real frontend process with a
real backend: no input, from anyone, makes it answer 5xx, nor anything its document does not
declare (``openapi_fuzz``).

Every operation is called as an anonymous visitor, as a signed-in user and as an admin (with
the cookies and the CSRF header a page of the site would send), then the admin follows the
document's links: notebooks made, then read, changed, moved and deleted; cells inserted, then
edited, moved and deleted; revisions listed, then read and reverted to; a live engine (no
REST route starts one: a tab of the admin's runs a cell) interrupted, restarted, stopped.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
import schemathesis
from schemathesis import Case, Response
from sqlalchemy import update
from websockets.sync.client import connect

from codenode.frontend.db import User
from codenode.frontend.sessions import CSRF_COOKIE
from tests.frontend.conftest import POSTGRES_URL, frontend, frontend_database, live_backend
from tests.frontend.live import PASSWORD, LiveFrontend, in_database, receive_until
from tests.security.openapi_fuzz import Caller, Findings, budget, each_operation, follow_links

__all__ = ["frontend", "frontend_database", "live_backend"]  # the fixtures used here

# The budget is the document's: its runs on each database share it.
SECONDS = budget(share=2 if POSTGRES_URL else 1)
# It would end the identity the rest of the run uses.
NEVER = ["POST /api/logout"]
# Left to the first pass: a backend the fuzz registers is down (503 for its engines, by
# design) and forgotten at once; the state machine would reach its engines first, and might
# follow the listing of backends to the removal of the one the run needs.
NOT_FOLLOWED = ["POST /api/backends", "DELETE /api/backends/{name}"]


class Anyone(Caller):
    """A visitor who is not signed in, with the CSRF cookie and header a page would send
    (never signed in: the cookies that sign-up and login answer are not kept)."""

    who = "anyone"
    coverage = False

    def __init__(self, url: str) -> None:
        token = httpx.get(f"{url}/api/session", timeout=30).cookies[CSRF_COOKIE]
        self.headers = {"Cookie": f"{CSRF_COOKIE}={token}", "X-CSRF-Token": token, "Origin": url}

    def send(self, case: Case[Any]) -> Response:
        return case.call(headers=self.headers, timeout=30)


class SignedIn(Caller):
    """A new user, signed up (then made an admin if asked) by a browser-like session: its
    cookies follow what the site answers (a new password signs in anew), its CSRF header
    echoes the cookie. A backend it registers is forgotten at once."""

    def __init__(self, frontend: LiveFrontend, admin: bool = False) -> None:
        self.url = frontend.url
        self.who = "an admin" if admin else "a user"
        self.coverage = admin
        self.http = requests.Session()
        self.http.get(f"{self.url}/api/session", timeout=30)
        name = f"fuzz{time.monotonic_ns()}"
        signup = self.request("POST", "/api/signup", json={"username": name, "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        if admin:
            user_id = signup.json()["user"]["id"]

            async def promote(db: Any) -> None:
                await db.execute(update(User).where(User.id == user_id).values(is_admin=True))
                await db.commit()

            in_database(frontend.database_url, promote)

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.http.cookies.get(CSRF_COOKIE) or "", "Origin": self.url}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(
            method, self.url + path, headers=self.headers(), timeout=30, **kwargs
        )

    def send(self, case: Case[Any]) -> Response:
        response = case.call(session=self.http, headers=self.headers(), timeout=30)
        if case.operation.label == "POST /api/backends" and response.status_code == 201:
            name = response.json()["name"]
            self.request("DELETE", f"/api/backends/{quote(name, safe='')}")
        return response


class WithAnEngine(SignedIn):
    """An admin with a tab open on a notebook of theirs whose engine runs: the engine routes
    (the notebook's, and the admin's on a backend's engines) have a live one to act on.
    After a scenario that stopped it (or deleted the notebook), a new notebook and engine."""

    def __init__(self, frontend: LiveFrontend) -> None:
        super().__init__(frontend, admin=True)
        self.tab = contextlib.ExitStack()
        self.notebook = ""
        self.start()

    def start(self) -> None:
        self.tab.close()
        made = self.request("POST", "/api/notebooks", json={"title": "E", "engine_type": "python"})
        self.notebook, cell = made.json()["id"], made.json()["cells"][0]["id"]
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        bus = self.tab.enter_context(
            connect(
                self.url.replace("http", "ws", 1) + f"/api/notebooks/{self.notebook}/bus",
                additional_headers={"Cookie": cookies, "Origin": self.url},
                open_timeout=10,
                max_size=None,
            )
        )
        bus.send(json.dumps({"op": "evaluate", "cell_id": cell, "source": "1"}))
        receive_until(bus, lambda m: m.get("type") == "result", timeout=60)

    def tidy(self) -> None:
        engine = self.request("GET", f"/api/notebooks/{self.notebook}/engine")
        if engine.status_code != 200 or engine.json()["state"] not in ("idle", "busy"):
            self.start()

    def close(self) -> None:
        self.tab.close()


@pytest.mark.timeout(SECONDS + 120)
def test_no_input_from_anyone_gets_a_server_error_or_an_undeclared_answer(
    frontend: LiveFrontend,
) -> None:
    frontend.user().new_notebook("Fuzzed")
    schema = schemathesis.openapi.from_url(f"{frontend.url}/api/openapi.json")
    findings = Findings()
    start = time.monotonic()
    each_operation(
        schema.exclude(name=NEVER),
        # Fresh each round: an admin's fuzz may disable or delete the user of the last one.
        lambda: [Anyone(frontend.url), SignedIn(frontend), SignedIn(frontend, admin=True)],
        findings,
        start + SECONDS / 2,
    )
    stateless = len(findings.statuses)
    admin = WithAnEngine(frontend)
    try:
        runs = follow_links(
            schema.exclude(name=NEVER + NOT_FOLLOWED), admin, findings, start + SECONDS
        )
    finally:
        admin.close()
    print(
        f"frontend: {len(findings.statuses)} calls ({stateless} one by one, the rest in"
        f" {runs} runs of scenarios), {findings.successes} 2xx,"
        f" in {time.monotonic() - start:.0f} s\n{findings.table()}"
    )
    assert len(findings.statuses) > 200
    assert findings.successes > 50  # past the checks, into the routes
    assert findings.failures == {}, findings.report()
    assert "Traceback" not in frontend.log()
