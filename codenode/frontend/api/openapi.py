"""The links between the REST API's operations (``codenode.openapi``): which answer gives
the ids the next request takes. From a new notebook to what is done to it and its cells,
from a listing to what it lists, from the engine types to a notebook of one of them.

A client can follow them; the schemathesis suite (``tests/security/``) does, to reach the
routes with real ids rather than with ids that name nothing.
"""

from __future__ import annotations

from codenode.openapi import Link, fan_out

NOTEBOOK = "/api/notebooks/{notebook_id}"
CELL = NOTEBOOK + "/cells/{cell_id}"
REVISION = NOTEBOOK + "/revisions/{revision_id}"
BACKEND = "/api/backends/{name}"

ON_A_NOTEBOOK = (
    f"GET {NOTEBOOK}",
    f"PATCH {NOTEBOOK}",
    f"DELETE {NOTEBOOK}",
    f"PUT {NOTEBOOK}/location",
    f"PUT {NOTEBOOK}/public",
    f"GET {NOTEBOOK}/shares",
    f"POST {NOTEBOOK}/cells",
    f"GET {NOTEBOOK}/revisions",
    f"GET {NOTEBOOK}/export",
    f"GET {NOTEBOOK}/engine",
    f"POST {NOTEBOOK}/engine/interrupt",
    f"POST {NOTEBOOK}/engine/restart",
    f"POST {NOTEBOOK}/engine/stop",
)
ON_A_CELL = (f"PATCH {CELL}", f"DELETE {CELL}", f"POST {CELL}/move")
ON_A_REVISION = (f"GET {REVISION}", f"POST {REVISION}/revert")
ON_A_USER = ("PATCH /api/users/{user_id}", "DELETE /api/users/{user_id}")
ON_AN_ENGINE = (
    f"DELETE {BACKEND}/engines/{{engine_id}}",
    f"POST {BACKEND}/engines/{{engine_id}}/interrupt",
)
ON_A_FILE = ("GET /api/files/download", "DELETE /api/files")

ID = "$response.body#/id"
FIRST_NOTEBOOK = "$response.body#/notebooks/0/id"
FIRST_BACKEND = "$response.body#/backends/0/name"
SAME_NOTEBOOK = "$request.path.notebook_id"
FILE_PATH = {"path": "$response.body#/path"}

LINKS: list[Link] = [
    # Notebooks, new or listed, and what is done to them.
    *fan_out("POST /api/notebooks", 201, ON_A_NOTEBOOK, {"notebook_id": ID}),
    *fan_out("POST /api/notebooks/import", 201, ON_A_NOTEBOOK, {"notebook_id": ID}),
    *fan_out("GET /api/notebooks", 200, ON_A_NOTEBOOK, {"notebook_id": FIRST_NOTEBOOK}),
    *fan_out(f"PATCH {NOTEBOOK}", 200, ON_A_NOTEBOOK, {"notebook_id": SAME_NOTEBOOK}),
    *fan_out(f"POST {REVISION}/revert", 200, ON_A_NOTEBOOK, {"notebook_id": SAME_NOTEBOOK}),
    # A new notebook's first cell, a new cell, a changed one.
    *fan_out(
        "POST /api/notebooks",
        201,
        ON_A_CELL,
        {"notebook_id": ID, "cell_id": "$response.body#/cells/0/id"},
    ),
    *fan_out(
        f"POST {NOTEBOOK}/cells", 201, ON_A_CELL, {"notebook_id": SAME_NOTEBOOK, "cell_id": ID}
    ),
    *fan_out(f"PATCH {CELL}", 200, ON_A_CELL, {"notebook_id": SAME_NOTEBOOK, "cell_id": ID}),
    *fan_out(f"POST {CELL}/move", 200, ON_A_CELL, {"notebook_id": SAME_NOTEBOOK, "cell_id": ID}),
    # Revisions, listed newest first.
    *fan_out(
        f"GET {NOTEBOOK}/revisions",
        200,
        ON_A_REVISION,
        {"notebook_id": SAME_NOTEBOOK, "revision_id": "$response.body#/revisions/0/id"},
    ),
    # A notebook of an engine type some backend offers.
    Link(
        "GET /api/engine-types",
        200,
        "POST /api/notebooks",
        body={"engine_type": "$response.body#/types/0/name"},
    ),
    # Users (admins).
    *fan_out("POST /api/users", 201, ON_A_USER, {"user_id": ID}),
    *fan_out("GET /api/users", 200, ON_A_USER, {"user_id": "$response.body#/users/0/id"}),
    # Backends and their engines (admins).
    Link("POST /api/backends", 201, f"DELETE {BACKEND}", {"name": "$response.body#/name"}),
    Link("POST /api/backends", 201, f"GET {BACKEND}/engines", {"name": "$response.body#/name"}),
    Link("GET /api/backends", 200, f"GET {BACKEND}/engines", {"name": FIRST_BACKEND}),
    *fan_out(
        f"GET {BACKEND}/engines",
        200,
        ON_AN_ENGINE,
        {"name": "$request.path.name", "engine_id": "$response.body#/engines/0/id"},
    ),
    # Workspace files, made or moved, then read, moved again or deleted.
    *(
        link
        for source, status in (
            ("PUT /api/files/upload", 201),
            ("POST /api/files/folder", 201),
            ("POST /api/files/rename", 200),
        )
        for link in (
            *fan_out(source, status, ON_A_FILE, FILE_PATH),
            Link(source, status, "GET /api/files", FILE_PATH),
            Link(source, status, "POST /api/files/rename", body=FILE_PATH),
        )
    ),
]
"""Every link of the frontend's document."""
