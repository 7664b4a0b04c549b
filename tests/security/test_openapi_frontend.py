"""Schemathesis over the frontend's own OpenAPI description, on a real frontend process with a
real backend: no input, from anyone, makes it answer 5xx.

Every operation is called as an anonymous visitor, as a signed-in user and as an admin (with
the CSRF header the page would send), with inputs generated from the schema.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from codenode.frontend.sessions import CSRF_COOKIE
from tests.frontend.conftest import frontend, frontend_database, live_backend
from tests.frontend.live import Client, LiveFrontend

__all__ = ["frontend", "frontend_database", "live_backend"]  # the fixtures used here

EXAMPLES = 15  # per operation and identity: the whole run stays within a minute or two
# Routes that would end the identity the rest of the run uses.
SKIPPED = {("POST", "/api/logout"), ("POST", "/api/password")}


def identity_headers(client: Client | None) -> dict[str, str]:
    """What a page of this site sends as *client* (anonymous for None): its cookies, the
    CSRF header echoing its cookie, its origin; so that the fuzz gets past the checks."""
    if client is None:
        return {}
    if CSRF_COOKIE not in client.http.cookies:
        client.http.get("/api/session")
    cookies = "; ".join(f"{name}={value}" for name, value in client.http.cookies.items())
    csrf = client.http.cookies.get(CSRF_COOKIE) or ""
    return {"Cookie": cookies, "X-CSRF-Token": csrf, "Origin": client.url}


def who(client: Client | None, admin: Client) -> str:
    return "anyone" if client is None else "admin" if client is admin else "a user"


def test_no_input_from_anyone_gets_a_server_error(frontend: LiveFrontend) -> None:
    user = frontend.user()
    admin = frontend.user(admin=True)
    user.new_notebook("Fuzzed")
    schema = schemathesis.openapi.from_url(f"{frontend.url}/api/openapi.json")
    failures: list[str] = []
    calls: list[int] = []

    def fuzz(operation: Any, headers: dict[str, str], name: str) -> None:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            response = case.call(headers=headers, timeout=30)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} as {name}:"
                    f" {response.status_code} {response.text[:200]}"
                )

        call()

    for identity in (None, user, admin):
        headers, name = identity_headers(identity), who(identity, admin)
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) not in SKIPPED:
                fuzz(operation, headers, name)
    assert len(calls) > 200
    assert sum(200 <= code < 300 for code in calls) > 50  # past the checks, into the routes
    assert failures == [], "\n".join(failures[:20])
    assert "Traceback" not in frontend.log()
