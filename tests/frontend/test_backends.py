"""Backends: the registry against real backend processes (health, placement, engine calls),
and the admin API of a real frontend."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from codenode.frontend.backends import registration
from codenode.frontend.backends.client import BackendFailure, answer_reason, transport_reason
from codenode.frontend.backends.health import BackendState
from codenode.frontend.backends.placement import ranked, unavailable_message
from codenode.frontend.backends.registry import BackendRegistry, Placement
from codenode.frontend.db import create_engine, default_url, session_factory, upgrade
from codenode.frontend.errors import BadRequest, NotFound, Unavailable
from tests.backend.conftest import TOKEN, Backend, python_plugin, script_plugin, start_backend
from tests.frontend.live import Client, LiveFrontend, in_database, register_backend

WRONG_TOKEN = "wrong-token-" + "y" * 20

# --- pure parts: URL rules, reasons, the placement policy ------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://host", "host:8337", "", "http://", "http://u:p@host", "http://host/?a=1",
     "http://host/#x", "http://host:99999", "http://host:0", "http://ho st", "http://h/\x00"],
)  # fmt: skip
def test_bad_backend_urls_are_refused(url: str) -> None:
    with pytest.raises(BadRequest):
        registration.check_url(url)


def test_backend_urls_keep_their_base_address() -> None:
    assert registration.check_url(" https://h.example:8337/ ") == "https://h.example:8337"
    assert (
        registration.check_url("http://10.0.0.5:8337/codenode") == "http://10.0.0.5:8337/codenode"
    )


@pytest.mark.parametrize("name", ["", "a b", "../x", "-x", "é", "x" * 101, "a/b"])
def test_bad_backend_names_are_refused(name: str) -> None:
    with pytest.raises(BadRequest):
        registration.check_name(name)


@pytest.mark.parametrize("token", ["", "  \n", "a b", "x" * 501, "tab\there"])
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(BadRequest):
        registration.check_token(token)


def test_failures_are_told_in_short_words() -> None:
    assert transport_reason(httpx.ConnectError("[Errno 111] Connection refused")) == (
        "connection refused"
    )
    assert transport_reason(httpx.ReadTimeout("read")) == "timed out"
    assert transport_reason(httpx.ConnectError("Name or service not known")).startswith(
        "cannot connect: "
    )
    request = httpx.Request("GET", "http://h/health")
    assert answer_reason(httpx.Response(401, json={}, request=request)) == "401: wrong token"
    said = httpx.Response(503, json={"error": "x", "message": "no sage here"}, request=request)
    assert answer_reason(said) == "503: no sage here"
    assert answer_reason(httpx.Response(502, text="<html>", request=request)) == (
        "502: Bad Gateway"
    )
    assert BackendFailure("timed out").unreachable
    assert BackendFailure("401: wrong token", 401).unreachable
    assert BackendFailure("500: oops", 500).unreachable
    assert not BackendFailure("503: type unavailable", 503).unreachable
    assert not BackendFailure("404: no engine", 404).unreachable


def state(id: int, name: str, engines: int = 0, healthy: bool = True, **types: str) -> BackendState:
    backend = BackendState(id, name, f"http://{name}:8337", token="t", engines=engines)
    backend.healthy, backend.reason = healthy, "" if healthy else "connection refused"
    backend.types = {name: "" for name in types} or {"python": ""}
    return backend


def test_placement_prefers_the_least_loaded_then_the_name() -> None:
    a, b, c = state(1, "a", engines=3), state(2, "b", engines=1), state(3, "c", engines=1)
    assert [s.name for s in ranked([a, b, c], "python")] == ["b", "c", "a"]
    b.started = 1  # started here since the last check: counts too
    assert [s.name for s in ranked([a, b, c], "python")] == ["c", "b", "a"]


def test_placement_skips_the_down_and_those_without_the_type_and_avoids_if_it_can() -> None:
    a, b = state(1, "a"), state(2, "b", healthy=False)
    c = state(3, "c", engines=5, sage="x")
    assert [s.name for s in ranked([a, b, c], "python")] == ["a"]
    assert [s.name for s in ranked([a, b, c], "sage")] == ["c"]
    assert [s.name for s in ranked([a, c], "python", avoid=frozenset({1}))] == ["a"]
    d = state(4, "d", engines=9)
    assert [s.name for s in ranked([a, d], "python", avoid=frozenset({1}))] == ["d", "a"]


def test_unavailable_messages_say_why() -> None:
    assert "no backend is registered" in unavailable_message([], "python", {})
    a, b = state(1, "a", healthy=False), state(2, "b", sage="")
    b.unavailable = {"python": "cannot import numpy"}
    message = unavailable_message([a, b], "python", {})
    assert message.startswith("every backend offering the engine type 'python' is down")
    assert "b: cannot import numpy" in message and "a (connection refused)" in message
    assert unavailable_message([b], "julia", {}) == (
        "no healthy backend offers the engine type 'julia'"
    )
    tried = unavailable_message([b], "sage", {"b": "503: did not say ready"})
    assert "b: 503: did not say ready" in tried


# --- the registry, driven directly, against real backends ---------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = default_url(tmp_path)
    upgrade(url)
    return url


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[Callable[..., Backend]]:
    """Start real backends: ``backends("a", python=python_plugin())``; all stopped after."""
    started: list[Backend] = []

    def start(name: str, **plugins: str) -> Backend:
        folder = tmp_path / name
        (folder / "plugins").mkdir(parents=True)
        for type_name, source in (plugins or {"python": python_plugin()}).items():
            (folder / "plugins" / f"{type_name}.py").write_text(source)
        backend = start_backend(folder / "plugins", folder)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.close()


def with_registry(
    url: str, work: Callable[[BackendRegistry], Awaitable[Any]], interval: float = 60.0
) -> Any:
    """Run ``await work(registry)`` with a started registry on the database at *url*."""

    async def main() -> Any:
        engine = create_engine(url)
        registry = BackendRegistry(session_factory(engine), interval)
        await registry.start()
        try:
            return await work(registry)
        finally:
            await registry.close()
            await engine.dispose()

    return asyncio.run(main())


def status(registry: BackendRegistry, name: str) -> dict[str, Any]:
    return next(entry for entry in registry.status() if entry["name"] == name)


def engine_ids(backend: Backend) -> set[str]:
    return {engine["id"] for engine in backend.http.get("/engines").json()["engines"]}


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait for *predicate*; the generous deadline only turns a hang into a failure."""
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def dead_url() -> str:
    """An address where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_engines_alternate_between_two_equal_backends(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    a, b = backends("a"), backends("b")
    register_backend(sqlite_url, "a", a.url, TOKEN)
    register_backend(sqlite_url, "b", b.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        one_by_one = [(await registry.start_engine("python")) for _ in range(4)]
        assert [p.backend_name for p in one_by_one] == ["a", "b", "a", "b"]
        # A burst spreads too: each start counts before its backend answers.
        burst = await asyncio.gather(*(registry.start_engine("python") for _ in range(4)))
        assert Counter(p.backend_name for p in burst) == {"a": 2, "b": 2}
        assert engine_ids(a) == {p.engine_id for p in one_by_one + burst if p.backend_name == "a"}
        for placement in one_by_one + burst:
            await registry.stop_engine(placement)
        assert engine_ids(a) == engine_ids(b) == set()

    with_registry(sqlite_url, work)


def test_the_least_loaded_backend_gets_the_next_engines(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    a, b = backends("a"), backends("b")
    for _ in range(2):
        a.start_engine()  # started by someone else: the health check counts them
    register_backend(sqlite_url, "a", a.url, TOKEN)
    register_backend(sqlite_url, "b", b.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        assert status(registry, "a")["engines"] == 2
        placed = [(await registry.start_engine("python")).backend_name for _ in range(3)]
        assert placed == ["b", "b", "a"]

    with_registry(sqlite_url, work)


def test_a_killed_backend_is_found_down_and_engines_go_to_the_other(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    a, b = backends("a"), backends("b")
    register_backend(sqlite_url, "a", a.url, TOKEN)
    register_backend(sqlite_url, "b", b.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        assert status(registry, "a")["healthy"] and status(registry, "b")["healthy"]
        a.process.kill()
        await until(lambda: not status(registry, "a")["healthy"], "a never found down")
        assert status(registry, "a")["reason"] == "connection refused"
        assert registry.engine_types() == [{"name": "python", "description": "", "backends": ["b"]}]
        placed = [(await registry.start_engine("python")).backend_name for _ in range(3)]
        assert placed == ["b", "b", "b"]

    with_registry(sqlite_url, work, interval=0.2)


def test_a_backend_that_dies_between_checks_is_skipped_at_once(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    a, b = backends("a"), backends("b")
    register_backend(sqlite_url, "a", a.url, TOKEN)
    register_backend(sqlite_url, "b", b.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        b.process.kill()
        b.process.wait()
        # a first (by name), then b is tried (fewer engines), refuses, and a takes it.
        placed = [(await registry.start_engine("python")).backend_name for _ in range(2)]
        assert placed == ["a", "a"]
        assert status(registry, "b")["healthy"] is False
        assert status(registry, "b")["reason"] == "connection refused"

    with_registry(sqlite_url, work)


def test_a_wrong_token_makes_a_backend_unhealthy(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    a, b = backends("a"), backends("b")
    register_backend(sqlite_url, "a", a.url, WRONG_TOKEN)
    register_backend(sqlite_url, "b", b.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        assert status(registry, "a")["healthy"] is False
        assert status(registry, "a")["reason"] == "401: wrong token"
        assert {(await registry.start_engine("python")).backend_name for _ in range(2)} == {"b"}
        assert WRONG_TOKEN not in repr(registry.status()) and TOKEN not in repr(registry.status())

    with_registry(sqlite_url, work)


def test_a_type_offered_by_one_backend_goes_there(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    a = backends("a")
    b = backends("b", python=python_plugin(), solo=python_plugin("solo", description="only b"))
    register_backend(sqlite_url, "a", a.url, TOKEN)
    register_backend(sqlite_url, "b", b.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        assert registry.engine_types() == [
            {"name": "python", "description": "", "backends": ["a", "b"]},
            {"name": "solo", "description": "only b", "backends": ["b"]},
        ]
        placed = [(await registry.start_engine("solo")).backend_name for _ in range(3)]
        assert placed == ["b", "b", "b"]
        with pytest.raises(Unavailable, match="no healthy backend offers the engine type 'r'"):
            await registry.start_engine("r")

    with_registry(sqlite_url, work)


def test_an_engine_that_fails_to_start_is_tried_elsewhere_and_its_reason_quoted(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    a = backends("a", flaky=script_plugin("flaky", "never_ready.py", start_timeout=1.0))
    b = backends("b", flaky=python_plugin("flaky"))
    register_backend(sqlite_url, "a", a.url, TOKEN)
    register_backend(sqlite_url, "b", b.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        placement = await registry.start_engine("flaky")  # a first: it refuses, b takes it
        assert placement.backend_name == "b"
        assert status(registry, "a")["healthy"], "an engine's failure is not its backend's"
        async with registry.sessions() as db:
            await registration.unregister(db, "b")
        await registry.refresh()
        with pytest.raises(Unavailable) as refused:
            await registry.start_engine("flaky")
        assert "a: 503: " in refused.value.message
        assert "I will not say ready" in refused.value.message

    with_registry(sqlite_url, work)


def test_with_no_backend_up_the_message_says_why(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    async def nothing(registry: BackendRegistry) -> None:
        with pytest.raises(Unavailable, match="no backend is registered"):
            await registry.start_engine("python")

    with_registry(sqlite_url, nothing)
    a = backends("a")
    register_backend(sqlite_url, "a", a.url, TOKEN)
    register_backend(sqlite_url, "gone", dead_url(), TOKEN)

    async def work(registry: BackendRegistry) -> None:
        a.process.kill()
        a.process.wait()
        await registry.refresh()
        with pytest.raises(Unavailable) as refused:
            await registry.start_engine("python")
        message = refused.value.message
        assert message.startswith("every backend offering the engine type 'python' is down")
        assert "a (connection refused)" in message and "gone (connection refused)" in message

    with_registry(sqlite_url, work)


def test_engine_operations_by_placement(sqlite_url: str, backends: Callable[..., Backend]) -> None:
    a = backends("a")
    register_backend(sqlite_url, "a", a.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        placement = await registry.start_engine("python")
        assert TOKEN not in repr(placement)
        await registry.interrupt(placement)
        await registry.restart(placement)
        assert engine_ids(a) == {placement.engine_id}
        await registry.stop_engine(placement)
        await registry.stop_engine(placement)  # gone already: quietly done
        with pytest.raises(NotFound):
            await registry.stop_engine(placement, missing_ok=False)
        with pytest.raises(NotFound):
            await registry.interrupt(placement)
        a.process.kill()
        a.process.wait()
        await registry.stop_engine(placement)  # its backend is gone: quietly done too
        with pytest.raises(Unavailable, match="backend 'a' is down: connection refused"):
            await registry.restart(placement)
        assert status(registry, "a")["reason"] == "connection refused"

    with_registry(sqlite_url, work)


def test_marked_unreachable_until_a_check_finds_it_back(
    sqlite_url: str, backends: Callable[..., Backend]
) -> None:
    a = backends("a")
    register_backend(sqlite_url, "a", a.url, TOKEN)

    async def work(registry: BackendRegistry) -> None:
        backend_id = registry.named("a").id
        registry.mark_unreachable(backend_id, "bus closed")
        assert status(registry, "a")["reason"] == "bus closed"
        # With every backend down, a start checks them again first: this one is back (a
        # restarted backend), so the start goes through at once, not at the next round.
        placement = await registry.start_engine("python")
        assert status(registry, "a")["healthy"]
        await registry.stop_engine(placement)
        registry.mark_unreachable(999, "no such backend")  # ignored
        # Really down, it is said so, after that check.
        a.close()
        registry.mark_unreachable(backend_id, "bus closed")
        with pytest.raises(Unavailable, match=r"down"):
            await registry.start_engine("python")

    with_registry(sqlite_url, work)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_certificates_are_verified(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "python.py").write_text(python_plugin())
    context = ssl.create_default_context(cafile=str(cert))
    tls = start_backend(
        tmp_path / "plugins", tmp_path, ["--certfile", str(cert), "--keyfile", str(key)], context
    )
    try:
        register_backend(sqlite_url, "tls", tls.url, TOKEN)

        async def untrusted(registry: BackendRegistry) -> None:
            assert status(registry, "tls")["healthy"] is False
            reason = status(registry, "tls")["reason"]
            assert reason.startswith("cannot connect: ") and "CERTIFICATE_VERIFY_FAILED" in reason

        with_registry(sqlite_url, untrusted)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # how an operator trusts a private CA

        async def trusted(registry: BackendRegistry) -> None:
            assert status(registry, "tls")["healthy"] is True
            placement = await registry.start_engine("python")
            assert placement.bus_url.startswith("wss://")
            await registry.stop_engine(placement, missing_ok=False)

        with_registry(sqlite_url, trusted)
    finally:
        tls.close()


def test_a_placement_never_shows_its_token() -> None:
    placement = Placement(1, "a", "https://h:8337/", "s3cret-token", "e1")
    assert "s3cret-token" not in repr(placement) and "s3cret-token" not in str(placement)
    assert placement.bus_url == "wss://h:8337/engines/e1/bus"


# --- the admin API of a real frontend -----------------------------------------------------


class Checked:
    """A client whose every answer is checked to carry no token."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        for secret in (TOKEN, WRONG_TOKEN):
            assert secret not in response.text, (method, path)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None


@pytest.fixture
def admin(frontend: LiveFrontend) -> Checked:
    return Checked(frontend.user(admin=True))


def listed(admin: Checked) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in admin.ok("GET", "/api/backends")["backends"]}


def test_admins_see_the_backends_without_their_tokens(admin: Checked) -> None:
    local = listed(admin)["local"]
    assert local["healthy"] is True and local["reason"] is None
    assert "python" in local["engine_types"]
    assert local["checked"] and local["version"]
    assert "token" not in local


def test_signed_in_users_see_the_engine_types_on_offer(frontend: LiveFrontend) -> None:
    types = frontend.user().ok("GET", "/api/engine-types")["types"]
    assert {"name": "python", "description": "", "backends": ["local"]} in types
    assert frontend.client().get("/api/engine-types").status_code == 401


ADMIN_ROUTES = [
    ("GET", "/api/backends", None),
    ("POST", "/api/backends", {"name": "x", "url": "http://127.0.0.1:1", "token": "t"}),
    ("DELETE", "/api/backends/local", None),
    ("GET", "/api/backends/local/engines", None),
    ("DELETE", "/api/backends/local/engines/e1", None),
    ("POST", "/api/backends/local/engines/e1/interrupt", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_only_admins_manage_backends(
    frontend: LiveFrontend, method: str, path: str, body: Any
) -> None:
    user = frontend.user()
    refused = user.request(method, path, json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "forbidden"
    assert frontend.client().request(method, path, json=body).status_code == 401
    assert "local" in listed(Checked(frontend.user(admin=True)))


def test_adding_checking_and_removing_a_backend(
    frontend: LiveFrontend, live_backend: Backend, admin: Checked
) -> None:
    added = admin.ok(
        "POST", "/api/backends", 201, json={"name": "second", "url": live_backend.url + "/",
                                            "token": f" {TOKEN}\n"},
    )  # fmt: skip
    assert added["healthy"] is True and added["url"] == live_backend.url
    assert "python" in added["engine_types"]
    again = {"name": "second", "url": live_backend.url, "token": TOKEN}
    assert admin.ok("POST", "/api/backends", 409, json=again)["error"] == "conflict"
    types = admin.ok("GET", "/api/engine-types")["types"]
    assert next(t for t in types if t["name"] == "python")["backends"] == ["local", "second"]
    admin.ok("DELETE", "/api/backends/second", 204)
    assert "second" not in listed(admin)
    assert admin.ok("DELETE", "/api/backends/second", 404)["error"] == "not_found"


def test_a_backend_with_the_wrong_token_is_listed_unhealthy(
    frontend: LiveFrontend, live_backend: Backend, admin: Checked
) -> None:
    body = {"name": "wrongly", "url": live_backend.url, "token": WRONG_TOKEN}
    added = admin.ok("POST", "/api/backends", 201, json=body)
    assert added["healthy"] is False and added["reason"] == "401: wrong token"
    assert listed(admin)["wrongly"]["reason"] == "401: wrong token"
    admin.ok("DELETE", "/api/backends/wrongly", 204)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "x", "url": "ftp://h", "token": "t"}, 400),
        ({"name": "x", "url": "http://user:pw@h", "token": "t"}, 400),
        ({"name": "a b", "url": "http://h", "token": "t"}, 400),
        ({"name": "x", "url": "http://h", "token": "  "}, 400),
        ({"name": "x", "url": "http://h"}, 422),
        ({"name": "x", "url": "http://h", "token": "t", "extra": 1}, 422),
        ({"name": "x", "url": "http://h", "token": "t" * 600}, 422),
        ({"name": ["x"], "url": "http://h", "token": "t"}, 422),
    ],
)
def test_bad_backends_are_refused_and_nothing_is_added(
    admin: Checked, body: dict[str, Any], status: int
) -> None:
    before = listed(admin).keys()
    assert admin.ok("POST", "/api/backends", status, json=body)["message"]
    assert listed(admin).keys() == before


def test_the_engines_of_a_backend(live_backend: Backend, admin: Checked) -> None:
    engine = live_backend.start_engine()
    engines = admin.ok("GET", "/api/backends/local/engines")["engines"]
    shown = next(e for e in engines if e["id"] == engine["id"])
    assert shown["type"] == "python" and shown["state"] in ("starting", "idle")
    assert shown["age"] >= 0 and shown["rss_bytes"] > 0
    path = f"/api/backends/local/engines/{engine['id']}"
    assert admin.ok("POST", path + "/interrupt", 202) == {"interrupted": engine["id"]}
    admin.ok("DELETE", path, 204)
    assert engine["id"] not in engine_ids(live_backend)
    assert admin.ok("DELETE", path, 404)["error"] == "not_found"
    assert admin.ok("POST", path + "/interrupt", 404)["error"] == "not_found"
    assert admin.ok("GET", "/api/backends/nowhere/engines", 404)["error"] == "not_found"


def test_a_dead_backend_answers_503_with_the_reason(admin: Checked) -> None:
    body = {"name": "dead", "url": dead_url(), "token": TOKEN}
    added = admin.ok("POST", "/api/backends", 201, json=body)
    assert added["healthy"] is False and added["reason"] == "connection refused"
    for method, path in [
        ("GET", "/api/backends/dead/engines"),
        ("DELETE", "/api/backends/dead/engines/e1"),
        ("POST", "/api/backends/dead/engines/e1/interrupt"),
    ]:
        refused = admin.ok(method, path, 503)
        assert refused["error"] == "unavailable"
        assert "connection refused" in refused["message"]
    admin.ok("DELETE", "/api/backends/dead", 204)


def test_a_backend_added_from_the_command_line_shows_up_in_the_running_frontend(
    frontend: LiveFrontend, live_backend: Backend, admin: Checked, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    done = frontend.cli(
        "backends", "add", "bycli", live_backend.url, "--token-file", str(token_file)
    )
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 60  # the frontend reads the table at each health check
    while "bycli" not in listed(admin):
        assert time.monotonic() < deadline, "the frontend never saw the new backend"
        time.sleep(0.1)
    assert frontend.cli("backends", "remove", "bycli").returncode == 0


def test_no_token_in_the_frontend_log(frontend: LiveFrontend) -> None:
    log = frontend.log()
    assert TOKEN not in log and WRONG_TOKEN not in log
    assert "backend dead is down: connection refused" in log


def test_the_database_keeps_the_token_for_the_backend(frontend: LiveFrontend) -> None:
    async def token_of_local(db: Any) -> str | None:
        backend = await registration.by_name(db, "local")
        return backend.token if backend else None

    assert in_database(frontend.database_url, token_of_local) == TOKEN


def test_unsandboxed_types_are_shown_to_the_admin() -> None:
    state = BackendState(1, "laptop", "http://127.0.0.1:1", "t")
    listing = {
        "types": [
            {"name": "python", "sandbox": True, "available": True},
            {"name": "mine", "sandbox": False, "available": True},
        ]
    }
    state.passed({"engines": 0}, listing, 0)
    described = state.describe()
    assert described["unsandboxed_types"] == ["mine"]
    assert described["engine_types"] == ["mine", "python"]
