"""Schemathesis over the backend's own OpenAPI description, on a real backend process: no
input makes it answer 5xx, nor anything its document does not declare (``openapi_fuzz``).

Operations are fuzzed one by one, then as scenarios along the document's links: engines
started of a type the backend lists, then read, interrupted, restarted and stopped; files
made, then listed, downloaded, renamed and deleted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case, Response

from tests.backend.conftest import TOKEN, Backend, python_plugin, start_backend
from tests.security.openapi_fuzz import Caller, Findings, budget, each_operation, follow_links

pytestmark = pytest.mark.slow  # a real backend, fuzzed by schemathesis (a minute)

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


class Frontend(Caller):
    """The token's holder; engines it started are stopped after each round and scenario,
    so that a long run does not gather hundreds of them."""

    who = "the token's holder"

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def send(self, case: Case[Any]) -> Response:
        return case.call(headers=AUTH, timeout=30)

    def tidy(self) -> None:
        for engine in self.http.get("/engines").json()["engines"]:
            self.http.delete(f"/engines/{engine['id']}")


@pytest.mark.timeout(budget() + 120)
def test_no_input_gets_a_server_error_or_an_undeclared_answer(running: Backend) -> None:
    schema = schemathesis.openapi.from_url(f"{running.url}/openapi.json", headers=AUTH)
    findings = Findings()
    caller = Frontend(running.http)
    start = time.monotonic()
    each_operation(schema, lambda: [caller], findings, start + budget() / 2)
    stateless = len(findings.statuses)
    runs = follow_links(schema, caller, findings, start + budget())
    print(
        f"backend: {len(findings.statuses)} calls ({stateless} one by one, the rest in"
        f" {runs * 10} scenarios), {findings.successes} 2xx, in {time.monotonic() - start:.0f} s"
        f"\n{findings.table()}"
    )
    assert len(findings.statuses) > 50
    assert findings.successes > 20  # past the checks, into the routes
    assert findings.failures == {}, findings.report()
    log = (running.plugins.parent / "backend.log").read_text()  # start_backend's
    assert "Traceback" not in log, log[-5000:]


def test_schema_names_every_route(running: Backend) -> None:
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
