"""Every route of the frontend and of the backend, asked by every identity that must be refused.

The routes come from the OpenAPI documents themselves, so that a new route is in the matrix
the day it is added. On a real frontend with a real backend: an owner's notebook, shared with
a viewer and a collaborator, then every route called

- as an anonymous visitor: refused (401, 403 or 404) unless it is one of the public routes;
- as a signed-in stranger, on the owner's notebook: 403 or 404;
- as the viewer, any change to the notebook: 403 or 404 (a viewer reads);
- as a user who is not an admin, on the admin routes: 403;
- on the backend, with a wrong token or none: 401.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.backend.conftest import Backend
from tests.frontend.conftest import frontend, frontend_database, live_backend
from tests.frontend.live import Client, LiveFrontend

__all__ = ["frontend", "frontend_database", "live_backend"]  # the fixtures used here

PUBLIC = {  # what anyone may call: to sign in, to see that the site is up, its schema
    ("GET", "/api/session"),
    ("POST", "/api/signup"),
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
    ("GET", "/api/health"),
}
ADMIN = re.compile(r"^/api/(users|backends)(/|$)")
READS = {"GET", "HEAD"}
REFUSED = {401, 403, 404}


def routes(schema: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    )


def filled(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: values.get(match.group(1), "x"), path)


def ask(client: Client | httpx.Client, method: str, path: str) -> int:
    # An empty JSON body: a route that would take one must refuse before it reads it.
    body = None if method in READS else {}
    if isinstance(client, Client):
        return client.request(method, path, json=body).status_code
    return client.request(method, path, json=body).status_code


def test_every_frontend_route_refuses_who_may_not(frontend: LiveFrontend) -> None:
    owner, viewer, collaborator = frontend.user(), frontend.user(), frontend.user()
    stranger = frontend.user()
    notebook = owner.new_notebook("Private")
    notebook_id = notebook["id"]
    for who, role in ((viewer, "viewer"), (collaborator, "collaborator")):
        name = who.user["username"]  # type: ignore[index]
        owner.ok("PUT", f"/api/notebooks/{notebook_id}/shares/{name}", json={"role": role})
    revisions = owner.ok("GET", f"/api/notebooks/{notebook_id}/revisions")["revisions"]
    values = {
        "notebook_id": notebook_id,
        "cell_id": notebook["cells"][0]["id"],
        "revision_id": str(revisions[0]["id"]) if revisions else "1",
        "username": collaborator.user["username"],  # type: ignore[index]
        "user_id": str(owner.user["id"]),  # type: ignore[index]
        "name": "local",
        "engine_id": "no-such-engine",
    }
    schema = httpx.get(f"{frontend.url}/api/openapi.json").json()
    anonymous = httpx.Client(base_url=frontend.url, timeout=30)
    wrong: list[str] = []
    try:
        for method, path in routes(schema):
            url = filled(path, values)
            if (method, path) not in PUBLIC:
                status = ask(anonymous, method, url)
                if status not in REFUSED:
                    wrong.append(f"anyone {method} {path}: {status}")
            if ADMIN.match(path):
                for who in (owner, stranger):
                    status = ask(who, method, url)
                    if status != 403:
                        wrong.append(f"a user {method} {path}: {status}")
            if "{notebook_id}" in path:
                status = ask(stranger, method, url)
                if status not in (403, 404):
                    wrong.append(f"a stranger {method} {path}: {status}")
                if method not in READS:
                    status = ask(viewer, method, url)
                    if status not in (403, 404):
                        wrong.append(f"the viewer {method} {path}: {status}")
    finally:
        anonymous.close()
    assert wrong == [], "\n".join(wrong)
    # Nothing of it happened: the notebook is the owner's still, as it was.
    after = owner.ok("GET", f"/api/notebooks/{notebook_id}")
    assert after["title"] == "Private" and len(after["cells"]) == len(notebook["cells"])


def test_every_backend_route_refuses_a_wrong_token(live_backend: Backend) -> None:
    schema = live_backend.http.get("/openapi.json").json()
    values = {"engine_id": "no-such-engine", "key": "default"}
    wrong: list[str] = []
    for token in ("", "Bearer not-the-token", "Basic dXNlcjpwYXNz"):
        headers = {"Authorization": token} if token else {}
        with httpx.Client(base_url=live_backend.url, headers=headers, timeout=30) as client:
            for method, path in [*routes(schema), ("GET", "/openapi.json")]:
                status = ask(client, method, filled(path, values))
                if status != 401:
                    wrong.append(f"{token or 'no token'}: {method} {path}: {status}")
    assert wrong == [], "\n".join(wrong)
