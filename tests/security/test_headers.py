"""Every answer, page or API, error or refusal, says how browsers must treat it: a
Content-Security-Policy that lets no script run but Codenode's own and no page frame it,
X-Frame-Options, Referrer-Policy, Permissions-Policy, nosniff (issue 13, item 6)."""

from __future__ import annotations

from typing import Any

import pytest

from codenode.frontend.access import route_table
from codenode.frontend.ui.pages import PAGES
from tests.security.conftest import SITE, Site, make_app


def directives(csp: str) -> dict[str, list[str]]:
    found = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def assert_guarded(response: Any, page: bool = False) -> None:
    headers = response.headers
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    csp = directives(headers.get("content-security-policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], where
    script = csp.get("script-src", csp.get("default-src"))
    assert script in (["'self'"], ["'none'"]), (where, script)
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") in ("same-origin", "no-referrer"), where
    assert "camera=()" in headers.get("permissions-policy", ""), where
    assert headers.get("x-content-type-options") == "nosniff", where
    if page:
        assert csp["script-src"] == ["'self'"], where
        assert csp.get("object-src") == ["'none'"], where
        assert csp.get("base-uri") == ["'none'"], where


def test_every_page_route(site: Site) -> None:
    user = site.sign_in()
    notebook = site.notebook()
    filled = {"/notebooks/{notebook_id}": f"/notebooks/{notebook['id']}"}
    for path in PAGES:
        response = site.http.get(filled.get(path, path))
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert_guarded(response, page=True)
        # The shell has no inline script for the policy to allow: only the bundle.
        assert "<script>" not in response.text and "<script " in response.text
        assert 'src="/static/app.js' in response.text
    assert user["username"]


def test_pages_are_every_page_route_of_the_app() -> None:
    app = make_app("sqlite+aiosqlite://")
    html_pages = {
        path
        for method, path, _ in route_table(app)
        if method == "GET" and not path.startswith(("/api", "/static"))
    }
    assert html_pages == set(PAGES)


def test_api_static_files_and_errors(site: Site) -> None:
    site.sign_in(admin=True)
    notebook = site.notebook()
    for path in [
        "/api/health",
        "/api/session",
        "/api/openapi.json",
        "/api/notebooks",
        f"/api/notebooks/{notebook['id']}",
        f"/api/notebooks/{notebook['id']}/revisions",
        f"/api/notebooks/{notebook['id']}/export?format=html",
        f"/api/notebooks/{notebook['id']}/export?format=ipynb",
        "/api/users",
        "/static/app.js",
        "/static/style.css",
        "/api/notebooks/nope",  # 404
        "/api/users/99999999999999999999",  # 405/422
        "/nowhere",  # 404
        "/static/nothing.js",  # 404
    ]:
        assert_guarded(site.http.get(path))
    assert_guarded(site.request("POST", "/api/login", json={}))  # 422
    assert_guarded(site.http.post("/api/logout"))  # 403, no CSRF header


def test_refusals_carry_them_too(site: Site) -> None:
    refused = site.http.get("/", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert_guarded(refused)
    too_large = site.request("POST", "/api/login", content=b" " * (1024 * 1024))
    assert too_large.status_code == 413
    assert_guarded(too_large)


@pytest.mark.parametrize("path", ["/", "/login"])
def test_a_route_keeps_its_own_policy(site: Site, path: str) -> None:
    """The pages' policy (scripts of this site, styles inline) is not replaced by the API's."""
    csp = directives(site.http.get(path).headers["content-security-policy"])
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["connect-src"] == ["'self'"]
    assert SITE.startswith("http://127.0.0.1")
