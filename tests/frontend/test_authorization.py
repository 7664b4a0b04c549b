"""Who may call what: every route of the app x every kind of caller, from the route table.

The expected answer follows from the route's declared access level (codenode.frontend.access)
and the caller's relation to the notebook in the path. A route without exactly one level fails
the test, so a new route cannot be added without deciding who may call it.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from codenode.frontend.access import route_table
from codenode.frontend.app import create_app
from codenode.frontend.config import FrontendConfig
from tests.frontend.live import Client, LiveFrontend

CALLERS = (
    "anonymous",
    "anonymous_via_public_link",
    "stranger",
    "admin",
    "viewer",
    "collaborator",
    "owner",
)
ALLOWED = "allowed"

# level → caller → ALLOWED, or the refusal (error code) expected.
EXPECTED: dict[str, dict[str, str]] = {
    "anyone": dict.fromkeys(CALLERS, ALLOWED),
    "signed_in": {
        **dict.fromkeys(CALLERS, ALLOWED),
        "anonymous": "not_signed_in",
        "anonymous_via_public_link": "not_signed_in",
    },
    "admin": {
        **dict.fromkeys(CALLERS, "forbidden"),
        "anonymous": "not_signed_in",
        "anonymous_via_public_link": "not_signed_in",
        "admin": ALLOWED,
    },
    "notebook_reader": {
        "anonymous": "not_signed_in",
        "anonymous_via_public_link": ALLOWED,
        "stranger": "no_notebook",
        "admin": "no_notebook",
        "viewer": ALLOWED,
        "collaborator": ALLOWED,
        "owner": ALLOWED,
    },
    "notebook_writer": {
        "anonymous": "not_signed_in",
        "anonymous_via_public_link": "not_signed_in",
        "stranger": "no_notebook",
        "admin": "no_notebook",
        "viewer": "forbidden",
        "collaborator": ALLOWED,
        "owner": ALLOWED,
    },
    "notebook_owner": {
        "anonymous": "not_signed_in",
        "anonymous_via_public_link": "not_signed_in",
        "stranger": "no_notebook",
        "admin": "no_notebook",
        "viewer": "forbidden",
        "collaborator": "forbidden",
        "owner": ALLOWED,
    },
}
STATUS = {"not_signed_in": 401, "forbidden": 403, "no_notebook": 404}


def routes() -> list[tuple[str, str, str]]:
    app = create_app(FrontendConfig("sqlite+aiosqlite:///:memory:", "not a secret"))
    return route_table(app)


ROUTES = routes()


def test_every_route_declares_exactly_one_access_level() -> None:
    undeclared = [(method, path, level) for method, path, level in ROUTES if level not in EXPECTED]
    assert not undeclared
    # The API description lists nothing the table does not.
    app = create_app(FrontendConfig("sqlite+aiosqlite:///:memory:", "not a secret"))
    described = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert described <= {(method, path) for method, path, _ in ROUTES}


class World:
    """Users with each relation to a notebook, and a client for each kind of caller."""

    def __init__(self, frontend: LiveFrontend) -> None:
        self.frontend = frontend
        self.owner = frontend.user()
        self.clients: dict[str, Client] = {
            "anonymous": frontend.client(),
            "anonymous_via_public_link": frontend.client(),
            "stranger": frontend.user(),
            "admin": frontend.user(admin=True),
            "owner": self.owner,
            "viewer": frontend.user(),
            "collaborator": frontend.user(),
        }
        self.backends = itertools.count(1)

    def notebook(self, public: bool) -> str:
        """A new notebook of the owner, shared with the viewer and the collaborator (and its
        public link on if asked): a route that deletes or changes it harms no other call."""
        owner = self.owner
        notebook_id = str(owner.new_notebook("Matrix")["id"])
        for role in ("viewer", "collaborator"):
            name = self.clients[role].user["username"]  # type: ignore[index]
            owner.ok("PUT", f"/api/notebooks/{notebook_id}/shares/{name}", json={"role": role})
        if public:
            owner.ok("PUT", f"/api/notebooks/{notebook_id}/public", json={"enabled": True})
        return notebook_id

    def values(self, caller: str, path: str) -> dict[str, str]:
        """Path parameters for one call, made fresh for it."""
        owner, admin = self.owner, self.clients["admin"]
        values: dict[str, str] = {"engine_id": "no-such-engine"}
        if "{notebook_id}" in path:
            notebook_id = values["notebook_id"] = self.notebook(
                caller == "anonymous_via_public_link"
            )
            if "{cell_id}" in path:
                cell = owner.ok("POST", f"/api/notebooks/{notebook_id}/cells", 201, json={})
                values["cell_id"] = cell["id"]
            if "{revision_id}" in path:
                revisions = owner.ok("GET", f"/api/notebooks/{notebook_id}/revisions")
                listing = revisions["revisions"] if isinstance(revisions, dict) else revisions
                values["revision_id"] = str(listing[0]["id"])
        if "{username}" in path or "{user_id}" in path:
            throwaway = values["username"] = self.frontend.add_user()
            users = admin.ok("GET", "/api/users")
            users = users["users"] if isinstance(users, dict) else users
            values["user_id"] = str(next(u["id"] for u in users if u["username"] == throwaway))
        if "{name}" in path:
            name = values["name"] = f"dummy{next(self.backends)}"
            admin.ok(
                "POST",
                "/api/backends",
                201,
                json={"name": name, "url": "http://127.0.0.1:9", "token": "t" * 20},
            )
        return values


@pytest.fixture(scope="module")
def world(frontend: LiveFrontend) -> World:
    return World(frontend)


def outcome(status: int, body: Any) -> str:
    code = body.get("error") if isinstance(body, dict) else None
    if code in STATUS and STATUS[code] == status:
        return str(code)
    return ALLOWED


HTTP_ROUTES = [route for route in ROUTES if route[0] not in ("WEBSOCKET", "HEAD")]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("caller", CALLERS)
def test_http_routes(world: World, caller: str) -> None:
    wrong = []
    for method, path, level in HTTP_ROUTES:
        if path == "/api/logout":
            continue  # would end the caller's session; it is "anyone" and checked below
        url = path.format_map(world.values(caller, path))
        response = world.clients[caller].request(method, url, json={})
        try:
            body = response.json()
        except ValueError:
            body = None
        got = outcome(response.status_code, body)
        expected = EXPECTED[level][caller]
        if got != expected or response.status_code in (500, 501, 502, 504):
            wrong.append((method, path, level, expected, response.status_code, body))
    assert not wrong, "\n".join(map(str, wrong))


@pytest.mark.parametrize("caller", CALLERS)
def test_the_bus(world: World, caller: str) -> None:
    (level,) = [level for method, _, level in ROUTES if method == "WEBSOCKET"]
    notebook_id = world.notebook(caller == "anonymous_via_public_link")
    expected = EXPECTED[level][caller]
    if expected == ALLOWED:
        with world.clients[caller].bus(notebook_id) as bus:
            assert json.loads(bus.recv(timeout=10))["type"] == "notebook"
        return
    with pytest.raises(InvalidStatus) as refused, world.clients[caller].bus(notebook_id):
        pass
    assert refused.value.response.status_code == STATUS[expected]


def test_logout_is_open_to_anyone(frontend: LiveFrontend) -> None:
    for client in (frontend.client(), frontend.user()):
        assert client.post("/api/logout").status_code in (200, 204)
