"""The frontend attacked in-process: the app of ``create_app`` under Starlette's TestClient, on
each kind of database the frontend tests run on (SQLite, and PostgreSQL where one answers).

The client talks to ``http://127.0.0.1:8731`` as a browser on the machine would; an attack
names another ``Host`` or ``Origin`` per request.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette would rather drive its TestClient with httpx2; the project pins httpx, which
    # still does it well (the warning is given once, on import).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient, WebSocketDenialResponse

from codenode.frontend.app import create_app
from codenode.frontend.config import FrontendConfig
from codenode.frontend.db import User
from codenode.frontend.sessions import CSRF_COOKIE
from tests.frontend.conftest import database_url, empty_database_url, migrated_sqlite
from tests.frontend.live import PASSWORD, in_database

# The frontend tests' database fixtures, and the TestClient for the tests here.
__all__ = [
    "TestClient",
    "WebSocketDenialResponse",
    "database_url",
    "empty_database_url",
    "migrated_sqlite",
]

SITE = "http://127.0.0.1:8731"
_names = itertools.count(1)


def fresh_name(prefix: str = "sec") -> str:
    return f"{prefix}{next(_names)}"


class Site:
    """One in-process frontend and a browser-like client on it (cookies, CSRF header)."""

    def __init__(self, client: TestClient, database_url: str) -> None:
        self.http = client
        self.database_url = database_url

    def csrf(self) -> str:
        if CSRF_COOKIE not in self.http.cookies:
            self.http.get("/api/session")
        return str(self.http.cookies[CSRF_COOKIE])

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if method.upper() not in ("GET", "HEAD", "OPTIONS"):
            headers.setdefault("X-CSRF-Token", self.csrf())
        return self.http.request(method, path, headers=headers, **kwargs)

    def sign_in(self, admin: bool = False) -> dict[str, Any]:
        """A new user (signed up, then made an admin if asked), signed in on this client;
        their account as the API answers it."""
        name = fresh_name()
        response = self.request(
            "POST", "/api/signup", json={"username": name, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        user: dict[str, Any] = response.json()["user"]
        if admin:

            async def promote(db: Any) -> None:
                await db.execute(update(User).where(User.id == user["id"]).values(is_admin=True))
                await db.commit()

            in_database(self.database_url, promote)
        return user

    def notebook(self, cells: int = 1) -> dict[str, Any]:
        """A new notebook of the signed-in user's."""
        response = self.request(
            "POST", "/api/notebooks", json={"title": "Attacked", "engine_type": "python"}
        )
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made


def make_app(database_url: str, **config: Any) -> Any:
    return create_app(
        FrontendConfig(database_url=database_url, secret="s" * 32, signup="open", **config)
    )


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    """The frontend in-process on a fresh database, its lifespan running."""
    with TestClient(make_app(database_url), base_url=SITE) as client:
        yield Site(client, database_url)
