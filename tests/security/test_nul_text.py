"""Text with a NUL character (\\u0000), which PostgreSQL cannot store: a clear 422 on every
route, never a 500 (found by the schemathesis run of test_openapi_frontend.py)."""

from __future__ import annotations

from tests.frontend.conftest import frontend, frontend_database, live_backend
from tests.frontend.live import LiveFrontend

__all__ = ["frontend", "frontend_database", "live_backend"]  # the fixtures used here

NUL = "a\x00b"


def test_nul_in_any_text_is_refused_or_kept_never_a_server_error(frontend: LiveFrontend) -> None:
    user = frontend.user()
    notebook = user.new_notebook("Plain")
    cell = notebook["cells"][0]["id"]
    answers = [
        frontend.client().post("/api/login", json={"username": NUL, "password": "whatever1"}),
        frontend.client().post("/api/signup", json={"username": NUL, "password": "whatever1"}),
        user.post("/api/notebooks", json={"title": NUL, "engine_type": "python"}),
        user.patch(f"/api/notebooks/{notebook['id']}", json={"title": NUL}),
        user.patch(f"/api/notebooks/{notebook['id']}/cells/{cell}", json={"source": NUL}),
        user.get("/api/search", params={"q": NUL}),
    ]
    postgres = frontend.database_url.startswith("postgresql")
    for answer in answers:
        assert answer.status_code < 500, (answer.request.url, answer.text)
        if postgres and answer.status_code == 422 and "bad_text" in answer.text:
            assert "NUL character" in answer.json()["message"]
    assert "Traceback" not in frontend.log()
