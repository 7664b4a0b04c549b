"""Request bodies are bounded before they are read and parsed: 413 ``too_large`` from the
Content-Length alone, or as soon as a streamed (chunked) body passes its route's limit
(issue 13, item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from codenode.frontend.bus.protocol import MAX_SOURCE
from codenode.frontend.guards import (
    API_BODY,
    AUTH_BODY,
    IMPORT_BODY,
    NOTEBOOK_BODY,
    body_limit,
)
from tests.security.conftest import Site

CHUNK = 64 * 1024
HUGE = 300 * 1024 * 1024  # 300 MiB


def drive(
    site: Site, method: str, path: str, body: Iterator[bytes], headers: dict[str, str]
) -> tuple[int, dict[str, Any], int]:
    """Send *body* to the app chunk by chunk, as a server would pass it on: the status, the
    JSON answer and how many bytes of the body the app asked for."""
    import json

    async def run() -> tuple[int, dict[str, Any], int]:
        consumed = 0
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal consumed
            chunk = next(body, None)
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            consumed += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "scheme": "http",
            "headers": [(b"host", b"127.0.0.1:8731")]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8731),
            "state": {},
        }
        await site.http.app(scope, receive, send)  # type: ignore[arg-type]
        start = next(m for m in sent if m["type"] == "http.response.start")
        data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], json.loads(data), consumed

    result: tuple[int, dict[str, Any], int] = site.http.portal.call(run)  # type: ignore[union-attr]
    return result


def endless_json(prefix: bytes) -> Iterator[bytes]:
    yield prefix
    for _ in range(HUGE // CHUNK):
        yield b" " * CHUNK


def test_a_huge_login_body_is_refused_from_its_length_before_a_byte_is_read(site: Site) -> None:
    status, body, consumed = drive(
        site,
        "POST",
        "/api/login",
        endless_json(b'{"username": "'),
        {"content-type": "application/json", "content-length": str(HUGE)},
    )
    assert (status, body["error"], consumed) == (413, "too_large", 0)
    assert "64 KiB" in body["message"]


def test_a_huge_streamed_login_body_is_cut_at_the_limit(site: Site) -> None:
    status, body, consumed = drive(
        site,
        "POST",
        "/api/login",
        endless_json(b'{"username": "'),
        {"content-type": "application/json", "transfer-encoding": "chunked"},
    )
    assert (status, body["error"]) == (413, "too_large")
    assert consumed <= AUTH_BODY + CHUNK


def test_a_huge_streamed_import_is_cut_at_the_limit(site: Site) -> None:
    site.sign_in()
    headers = {
        "content-type": "multipart/form-data; boundary=xyz",
        "transfer-encoding": "chunked",
        "cookie": "; ".join(f"{k}={v}" for k, v in site.http.cookies.items()),
        "x-csrf-token": site.csrf(),
    }
    start = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.py"\r\n\r\n'
    status, body, consumed = drive(
        site, "POST", "/api/notebooks/import", endless_json(start), headers
    )
    assert (status, body["error"]) == (413, "too_large")
    assert consumed <= IMPORT_BODY + CHUNK


def test_a_50_mb_cell_source_is_not_stored(site: Site) -> None:
    site.sign_in()
    notebook = site.notebook()
    cell = notebook["cells"][0]["id"]
    base = f"/api/notebooks/{notebook['id']}/cells"
    source = "x" * 50_000_000
    for method, path in [("PATCH", f"{base}/{cell}"), ("POST", base)]:
        response = site.request(method, path, json={"source": source})
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "too_large"
    # Under the body limit but over the bus's limit on a source: the same rule as the bus.
    response = site.request("PATCH", f"{base}/{cell}", json={"source": "x" * (MAX_SOURCE + 1)})
    assert response.status_code == 422, response.text
    stored = site.request("GET", f"/api/notebooks/{notebook['id']}").json()
    assert stored["cells"][0]["source"] == ""
    # The largest source the bus takes is stored through REST too.
    response = site.request("PATCH", f"{base}/{cell}", json={"source": "x" * MAX_SOURCE})
    assert response.status_code == 200, response.text[:200]


def test_an_import_over_its_size_is_refused(site: Site) -> None:
    site.sign_in()
    data = b"1\n" * (IMPORT_BODY // 2 + 1)
    response = site.request("POST", "/api/notebooks/import", files={"file": ("big.py", data)})
    assert response.status_code == 413, response.text[:200]
    assert response.json()["error"] == "too_large"


def test_other_api_bodies_are_bounded(site: Site) -> None:
    site.sign_in()
    notebook = site.notebook()
    response = site.request(
        "PUT", f"/api/notebooks/{notebook['id']}/shares/nobody", json={"role": "x" * API_BODY}
    )
    # A notebook route: under its 16 MiB, so validation answers.
    assert response.status_code in (404, 422), response.text[:200]
    response = site.request("POST", "/api/backends", json={"name": "x" * (API_BODY + 1)})
    assert response.status_code == 413, response.text[:200]
    response = site.request("POST", "/api/signup", content=b"{" + b" " * AUTH_BODY + b"}")
    assert response.status_code == 413


def test_a_bad_content_length_is_refused(site: Site) -> None:
    status, body, _ = drive(site, "POST", "/api/login", iter([b"{}"]), {"content-length": "12abc"})
    assert (status, body["error"]) == (400, "bad_request")


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/api/login", AUTH_BODY),
        ("POST", "/api/signup", AUTH_BODY),
        ("POST", "/api/password", AUTH_BODY),
        ("PATCH", "/api/notebooks/n/cells/c", NOTEBOOK_BODY),
        ("POST", "/api/notebooks", NOTEBOOK_BODY),
        ("POST", "/api/notebooks/import", IMPORT_BODY),
        ("POST", "/api/users", API_BODY),
        ("PUT", "/api/files/upload", None),
        ("POST", "/api/files/rename", None),
        ("DELETE", "/api/files", None),
    ],
)
def test_route_classes(method: str, path: str, limit: int | None) -> None:
    assert body_limit(method, path) == limit
    assert NOTEBOOK_BODY >= MAX_SOURCE
