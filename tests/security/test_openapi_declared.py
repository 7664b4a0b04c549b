"""Answers the schemathesis suite (``test_openapi_backend.py``) found outside the OpenAPI
documents, each now declared: one test each."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from codenode.backend.app import create_app
from codenode.backend.workspaces import Workspaces
from tests.backend.conftest import TOKEN


def test_a_body_that_is_not_text_is_a_400_the_backend_declares(tmp_path: Path) -> None:
    # FastAPI answers 400 for a JSON body that is not even UTF-8 (422 for malformed JSON);
    # the backend's document declared neither, so a client could not expect it.
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    app = create_app(plugins, TOKEN, Workspaces(tmp_path / "ws"))

    async def start_engine() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://backend.test") as http:
            return await http.post(
                "/engines",
                content=b"\xff\xfe{",
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )

    answer = asyncio.run(start_engine())
    assert answer.status_code == 400
    assert set(answer.json()) == {"error", "message"}
    declared = app.openapi()["paths"]["/engines"]["post"]["responses"]["400"]
    assert declared["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
