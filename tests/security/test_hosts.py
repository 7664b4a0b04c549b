"""DNS rebinding: a page on evil.example whose name the attacker points at this machine talks
to the frontend with ``Host: evil.example`` (and a matching ``Origin``). The frontend answers
only to the names it is configured for, localhost and its own addresses (issue 13, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from codenode.frontend.guards import host_allowed, host_name
from codenode.frontend.serve import allowed_hosts
from tests.frontend.live import PASSWORD, LiveFrontend
from tests.security.conftest import (
    SITE,
    Site,
    TestClient,
    WebSocketDenialResponse,
    fresh_name,
    make_app,
)

EVIL = {"Host": "evil.example:8731", "Origin": "http://evil.example:8731"}


def test_a_rebound_name_cannot_sign_up(site: Site) -> None:
    session = site.http.get("/api/session", headers=EVIL)
    assert session.status_code == 400
    assert session.json()["error"] == "unknown_host"
    assert "evil.example" in session.json()["message"]
    signup = site.request(
        "POST",
        "/api/signup",
        headers=EVIL,
        json={"username": fresh_name(), "password": PASSWORD},
    )
    assert signup.status_code == 400, signup.text
    assert signup.json()["error"] == "unknown_host"
    # The same request through this site's own name works.
    same = {"Origin": SITE}
    ok = site.request(
        "POST", "/api/signup", headers=same, json={"username": fresh_name(), "password": PASSWORD}
    )
    assert ok.status_code == 201, ok.text


def test_a_rebound_name_cannot_open_the_bus(site: Site) -> None:
    site.sign_in()
    notebook = site.notebook()
    path = SITE.replace("http", "ws", 1) + f"/api/notebooks/{notebook['id']}/bus"
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        site.http.websocket_connect(path, headers=EVIL),
    ):
        pass
    assert refused.value.status_code == 400
    assert refused.value.json()["error"] == "unknown_host"
    # Through this site's own name the request reaches the bus, which checks the Origin
    # (the bus opening for this site's pages: the real frontend's test below).
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        site.http.websocket_connect(path, headers={"Origin": "http://evil.example:8731"}),
    ):
        pass
    assert refused.value.status_code == 403
    assert refused.value.json()["error"] == "forbidden"


def test_pages_and_static_files_refuse_a_rebound_name_too(site: Site) -> None:
    for path in ("/", "/login", "/static/app.js", "/api/health", "/no/such/page"):
        response = site.http.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 400, path
        assert response.json()["error"] == "unknown_host"


@pytest.mark.parametrize(
    "host",
    ["localhost:8731", "127.0.0.1:8731", "[::1]:8731", "LOCALHOST", "127.0.0.2", "localhost."],
)
def test_a_local_run_answers_to_the_local_names(site: Site, host: str) -> None:
    assert site.http.get("/api/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8731",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "evil.example:80:80",
        "[::1",
        "[evil]:80",
        "ev il",
        "127.0.0.1:x",
        "",
    ],
)
def test_other_and_malformed_hosts_are_refused(site: Site, host: str) -> None:
    response = site.http.get("/api/health", headers={"Host": host})
    assert response.status_code == 400, host
    assert response.json()["error"] == "unknown_host"


def test_configured_names_are_answered(database_url: str) -> None:
    app = make_app(database_url, allowed_hosts=("notebooks.example.org", ".corp.example"))
    with TestClient(app, base_url=SITE) as client:
        for host in ("notebooks.example.org", "Notebooks.Example.Org:443", "a.corp.example"):
            assert client.get("/api/health", headers={"Host": host}).status_code == 200, host
        for host in ("example.org", "evil.example", "corp.example.evil.example"):
            assert client.get("/api/health", headers={"Host": host}).status_code == 400, host
    with TestClient(make_app(database_url, allowed_hosts=("*",)), base_url=SITE) as client:
        assert client.get("/api/health", headers={"Host": "anything.example"}).status_code == 200


def test_host_rules() -> None:
    assert host_name("[::1]:8000") == "::1"
    assert host_name("Example.ORG.:80") == "example.org"
    assert host_name("a:b") is None
    assert host_allowed("10.0.0.5", (), own_address="10.0.0.5")
    assert not host_allowed("10.0.0.5", (), own_address="10.0.0.6")
    assert host_allowed("::1", ())
    assert host_allowed("fe80::1", ("[fe80::1]",))
    assert host_allowed("notebooks.example.org", ("Notebooks.Example.Org:443",))
    assert not host_allowed("evil.example", ("evil.example.org", ".example.org"))


def test_the_setting_from_the_environment_and_the_listening_host() -> None:
    environ = {"CODENODE_ALLOWED_HOSTS": "a.example, b.example  c.example"}
    assert allowed_hosts({"host": "127.0.0.1"}, environ) == (
        "a.example",
        "b.example",
        "c.example",
        "127.0.0.1",
    )
    assert allowed_hosts({"host": "0.0.0.0"}, {}) == ()
    assert allowed_hosts({"host": "notebooks.example.org"}, {}) == ("notebooks.example.org",)


@pytest.mark.slow
def test_a_real_frontend_reads_codenode_allowed_hosts(database_url: str, tmp_path: Path) -> None:
    live = LiveFrontend(
        tmp_path / "home", database_url, {"CODENODE_ALLOWED_HOSTS": "notebooks.example.org"}
    )
    live.start()
    try:
        for host, status in [
            ("notebooks.example.org", 200),
            ("localhost", 200),
            ("evil.example", 400),
        ]:
            response = httpx.get(live.url + "/api/health", headers={"Host": host})
            assert response.status_code == status, (host, response.text)
        # A page of the site itself signs up and opens a bus, as before.
        client = live.client()
        signup = client.post("/api/signup", json={"username": fresh_name(), "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        notebook = client.new_notebook()
        with client.bus(notebook["id"]) as bus:
            assert json.loads(bus.recv(timeout=10))["type"] == "notebook"
    finally:
        live.stop()
