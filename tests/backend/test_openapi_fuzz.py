"""Schemathesis over the backend's own OpenAPI description: no input makes it answer 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.backend.conftest import TOKEN, Backend, python_plugin, start_backend

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    home = tmp_path_factory.mktemp("fuzz")
    plugins = home / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin())
    backend = start_backend(plugins, home)
    yield backend
    backend.close()


def test_no_input_gets_a_server_error(running: Backend) -> None:
    schema = schemathesis.openapi.from_url(f"{running.url}/openapi.json", headers=AUTH)
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            nonlocal checked
            response = case.call(headers=AUTH, timeout=30)
            checked += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        call()
    assert checked > 50
    assert failures == []


def test_schema_names_every_route(running: Backend, tmp_path: Path) -> None:
    paths = running.http.get("/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/health",
        "/engine-types",
        "/engines",
        "/engines/{engine_id}",
        "/engines/{engine_id}/interrupt",
        "/engines/{engine_id}/restart",
        "/metrics",
    }
