"""The links between the backend's operations (``codenode.openapi``): from the engine types
to a new engine of one, from an engine to what is done to it, from a file made to what is
done to it. The schemathesis suite (``tests/security/``) follows them to reach the routes
with real ids.
"""

from __future__ import annotations

from codenode.openapi import Link, fan_out

ENGINE = "/engines/{engine_id}"
FILES = "/workspaces/{key}/files"

ON_AN_ENGINE = (
    f"GET {ENGINE}",
    f"DELETE {ENGINE}",
    f"POST {ENGINE}/interrupt",
    f"POST {ENGINE}/restart",
)
ON_A_FILE = (f"GET {FILES}", f"GET {FILES}/download", f"DELETE {FILES}")
THE_ENGINE = {"engine_id": "$response.body#/id"}
THE_FILE = {"key": "$request.path.key", "path": "$response.body#/path"}

LINKS: list[Link] = [
    Link("GET /engine-types", 200, "POST /engines", body={"type": "$response.body#/types/0/name"}),
    *fan_out("POST /engines", 201, ON_AN_ENGINE, THE_ENGINE),
    *fan_out("GET /engines", 200, ON_AN_ENGINE, {"engine_id": "$response.body#/engines/0/id"}),
    *fan_out(f"GET {ENGINE}", 200, ON_AN_ENGINE, THE_ENGINE),
    *fan_out(f"POST {ENGINE}/interrupt", 202, ON_AN_ENGINE, THE_ENGINE),
    *fan_out(f"POST {ENGINE}/restart", 200, ON_AN_ENGINE, THE_ENGINE),
    *(
        link
        for source, status in (
            (f"PUT {FILES}/upload", 201),
            (f"POST {FILES}/folder", 201),
            (f"POST {FILES}/rename", 200),
        )
        for link in (
            *fan_out(source, status, ON_A_FILE, THE_FILE),
            Link(
                source,
                status,
                f"POST {FILES}/rename",
                {"key": "$request.path.key"},
                body={"path": "$response.body#/path"},
            ),
        )
    ),
]
"""Every link of the backend's document."""
