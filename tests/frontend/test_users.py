"""Users over HTTP on a real frontend: sign-up modes, login and logout, sessions and their
cookies, CSRF, password changes, the login rate limit and the admin routes."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend.app import create_app
from codenode.frontend.config import FrontendConfig
from codenode.frontend.db import Notebook, User
from codenode.frontend.passwords import verify_password
from codenode.frontend.ratelimit import LoginLimits
from codenode.frontend.sessions import CSRF_COOKIE, SESSION_COOKIE
from codenode.frontend.users import authenticate, ensure_first_admin
from tests.frontend.conftest import opened
from tests.frontend.live import PASSWORD, Client, LiveFrontend, in_database

NEW_PASSWORD = "a brand new passphrase"
_fresh = itertools.count(1)


def fresh_name(prefix: str = "member") -> str:
    return f"{prefix}{next(_fresh)}"


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """The Set-Cookie headers of *response*, by cookie name."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        found[header.split("=", 1)[0]] = header
    return found


def attributes(set_cookie: str) -> set[str]:
    """The attributes of a Set-Cookie header, lower-cased (``httponly``, ``samesite=lax``...)."""
    return {part.strip().lower() for part in set_cookie.split(";")[1:]}


def user_row(frontend: LiveFrontend, name: str) -> User | None:
    async def load(db: AsyncSession) -> User | None:
        return (await db.execute(select(User).where(User.username == name))).scalar_one_or_none()

    found: User | None = in_database(frontend.database_url, load)
    return found


def signed_in_as(client: Client) -> str | None:
    user = client.ok("GET", "/api/session")["user"]
    return None if user is None else str(user["username"])


# --- The session and its cookies ------------------------------------------------------------


def test_session_gives_a_csrf_token_in_a_script_readable_strict_cookie(
    frontend: LiveFrontend,
) -> None:
    client = frontend.client()
    response = client.get("/api/session")
    assert response.status_code == 200
    body = response.json()
    assert body["user"] is None
    assert body["signup"] == "open"
    cookie = set_cookies(response)[CSRF_COOKIE]
    assert "httponly" not in attributes(cookie)
    assert "samesite=strict" in attributes(cookie)
    assert "secure" not in attributes(cookie)  # plain http here
    assert client.http.cookies[CSRF_COOKIE] == body["csrf"]

    again = client.get("/api/session")
    assert again.json()["csrf"] == body["csrf"]
    assert CSRF_COOKIE not in set_cookies(again)  # a valid token is kept

    client.http.cookies.set(CSRF_COOKIE, "made-up")
    renewed = client.get("/api/session")
    assert renewed.json()["csrf"] != "made-up"
    assert CSRF_COOKIE in set_cookies(renewed)


def test_login_sets_an_httponly_lax_session_cookie_and_logout_clears_it(
    frontend: LiveFrontend,
) -> None:
    name = frontend.add_user()
    client = frontend.client()
    response = client.login(name)
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["username"] == name and user["is_admin"] is False and isinstance(user["id"], int)
    cookie = attributes(set_cookies(response)[SESSION_COOKIE])
    assert {"httponly", "samesite=lax", "path=/", f"max-age={14 * 86400}"} <= cookie
    assert "secure" not in cookie
    assert signed_in_as(client) == name

    logout = client.post("/api/logout")
    assert logout.status_code == 204
    assert signed_in_as(client) is None
    client.ok("GET", "/api/users", 401)


def test_behind_tls_cookies_are_secure(frontend: LiveFrontend, tmp_path: Path) -> None:
    # A reverse proxy on the host, named as trusted: its X-Forwarded-Proto is believed.
    proxied = LiveFrontend(
        tmp_path / "home", frontend.database_url, {"CODENODE_TRUSTED_PROXIES": "127.0.0.1"}
    )
    try:
        proxied.start()
        name = frontend.add_user()
        client = proxied.client()
        tls = {"X-Forwarded-Proto": "https"}
        session = client.get("/api/session", headers=tls)
        assert "secure" in attributes(set_cookies(session)[CSRF_COOKIE])
        # The client would not send a Secure cookie over plain http: send it by hand.
        token = session.json()["csrf"]
        login = httpx.post(
            proxied.url + "/api/login",
            json={"username": name, "password": PASSWORD},
            headers={**tls, "X-CSRF-Token": token, "Cookie": f"{CSRF_COOKIE}={token}"},
        )
        assert login.status_code == 200, login.text
        assert "secure" in attributes(set_cookies(login)[SESSION_COOKIE])
    finally:
        proxied.stop()


def test_forwarded_headers_from_anyone_else_are_ignored(
    frontend: LiveFrontend, tmp_path: Path
) -> None:
    # No proxy named: a client's X-Forwarded-Proto makes nothing Secure, and X-Forwarded-For
    # does not make each guess come from a new address (past the sign-in limit).
    limited = LiveFrontend(tmp_path / "home", frontend.database_url)
    try:
        limited.start()
        client = limited.client()
        session = client.get("/api/session", headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in attributes(set_cookies(session)[CSRF_COOKIE])
        name = frontend.add_user()
        codes = [
            client.post(
                "/api/login",
                json={"username": name, "password": "wrong guess"},
                headers={"X-Forwarded-For": f"10.9.0.{number}"},
            ).status_code
            for number in range(11)
        ]
        assert codes == [401] * 10 + [429], codes
    finally:
        limited.stop()


def test_wrong_password_and_unknown_name_get_the_same_answer(frontend: LiveFrontend) -> None:
    name = frontend.add_user()
    client = frontend.client()
    wrong = client.login(name, "not the password")
    unknown = client.login(fresh_name("nobody"), PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "not_signed_in",
            "message": "wrong username or password",
        }
    )
    assert SESSION_COOKIE not in set_cookies(wrong)
    assert signed_in_as(client) is None


def test_a_tampered_session_cookie_is_anonymous(frontend: LiveFrontend) -> None:
    client = frontend.user()
    value = client.http.cookies[SESSION_COOKIE]
    payload, timestamp, signature = value.split(".")
    forged_user = payload.replace(payload[2], "A" if payload[2] != "A" else "B", 1)
    for forged in (
        f"{forged_user}.{timestamp}.{signature}",
        f"{payload}.{timestamp}.{signature[::-1]}",
        "garbage",
    ):
        client.http.cookies.set(SESSION_COOKIE, forged)
        assert signed_in_as(client) is None
        client.ok("POST", "/api/password", 401, json={"old": PASSWORD, "new": NEW_PASSWORD})


def test_bad_bodies_get_4xx_and_change_nothing(frontend: LiveFrontend) -> None:
    client = frontend.client()
    assert client.post("/api/login", json={"username": "x"}).status_code == 422
    assert client.post("/api/login", content=b"not json").status_code == 422
    too_long = {"username": "a" * 151, "password": PASSWORD}
    assert client.post("/api/login", json=too_long).status_code == 422
    huge = {"username": "someone", "password": "p" * 5000}
    assert client.post("/api/signup", json=huge).status_code == 422
    name = fresh_name()
    answer = client.post(
        "/api/signup", json={"username": name, "password": PASSWORD, "is_admin": True}
    )
    assert answer.status_code == 422  # no making yourself an admin by signing up
    assert user_row(frontend, name) is None


# --- Sign-up --------------------------------------------------------------------------------


def test_open_signup_makes_a_user_and_signs_them_in(frontend: LiveFrontend) -> None:
    name = fresh_name("signup")
    client = frontend.client()
    answer = client.ok("POST", "/api/signup", 201, json={"username": name, "password": PASSWORD})
    assert answer["user"]["username"] == name and answer["user"]["is_admin"] is False
    assert signed_in_as(client) == name

    taken = client.post("/api/signup", json={"username": name, "password": PASSWORD})
    assert taken.status_code == 409 and taken.json()["error"] == "conflict"
    short = client.post("/api/signup", json={"username": fresh_name(), "password": "short"})
    assert short.status_code == 400 and "8 characters" in short.json()["message"]
    bad = client.post("/api/signup", json={"username": "has space", "password": PASSWORD})
    assert bad.status_code == 400

    row = user_row(frontend, name)
    assert row is not None and row.password_hash.startswith("$argon2id$")
    assert verify_password(row.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("mode", "says"), [("closed", "codenode adduser"), ("admin", "ask an admin")]
)
def test_signup_is_refused_unless_open(
    frontend: LiveFrontend, tmp_path: Path, mode: str, says: str
) -> None:
    other = LiveFrontend(tmp_path / "home", frontend.database_url, {"CODENODE_SIGNUP": mode})
    try:
        other.start()
        client = other.client()
        assert client.ok("GET", "/api/session")["signup"] == mode
        name = fresh_name("refused")
        response = client.post("/api/signup", json={"username": name, "password": PASSWORD})
        assert response.status_code == 403
        assert says in response.json()["message"]
        assert user_row(frontend, name) is None

        # An admin still adds users, and they sign in.
        admin = other.user(admin=True)
        admin.ok("POST", "/api/users", 201, json={"username": name, "password": PASSWORD})
        assert other.client().login(name).status_code == 200
    finally:
        other.stop()


# --- CSRF -----------------------------------------------------------------------------------


def test_every_unsafe_request_needs_the_csrf_header(frontend: LiveFrontend) -> None:
    admin = frontend.user(admin=True)
    victim = frontend.add_user()
    victim_id = admin.ok("GET", "/api/users")["users"]
    victim_id = next(user["id"] for user in victim_id if user["username"] == victim)
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/login", {"username": victim, "password": PASSWORD}),
        ("POST", "/api/signup", {"username": fresh_name(), "password": PASSWORD}),
        ("POST", "/api/logout", None),
        ("POST", "/api/password", {"old": PASSWORD, "new": NEW_PASSWORD}),
        ("POST", "/api/users", {"username": fresh_name(), "password": PASSWORD}),
        ("PATCH", f"/api/users/{victim_id}", {"is_admin": True}),
        ("DELETE", f"/api/users/{victim_id}", None),
    ]
    real = admin.http.cookies[CSRF_COOKIE]
    forged_token = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for method, path, body in requests:
        for cookie, header in ((real, None), (real, "other"), (forged_token, forged_token)):
            admin.http.cookies.set(CSRF_COOKIE, cookie)
            headers = {} if header is None else {"X-CSRF-Token": header}
            response = admin.http.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (method, path, header, response.text)
            assert response.json()["error"] == "csrf"
    admin.http.cookies.set(CSRF_COOKIE, real)

    # Nothing happened: the victim is there, no admin, the admin still signed in.
    row = user_row(frontend, victim)
    assert row is not None and not row.is_admin
    assert signed_in_as(admin) is not None
    assert frontend.client().login(victim).status_code == 200


def unsafe_routes() -> list[tuple[str, str]]:
    """(method, path) of every state-changing HTTP route of the app, path parameters filled.
    Read from the OpenAPI description: it lists the routes of every included router."""
    app = create_app(FrontendConfig(database_url="sqlite+aiosqlite://", secret="s" * 32))
    found = []
    for path, operations in app.openapi()["paths"].items():
        filled = re.sub(r"\{[^}]+\}", "1", path)
        found += [(method.upper(), filled) for method in operations if method in UNSAFE]
    return found


UNSAFE = ("post", "put", "patch", "delete")


def test_no_state_changing_route_answers_without_the_csrf_header(frontend: LiveFrontend) -> None:
    routes = unsafe_routes()
    assert ("POST", "/api/login") in routes
    admin = frontend.user(admin=True)
    for method, path in routes:
        response = admin.http.request(method, path, json={})
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"] == "csrf"


# --- Passwords ------------------------------------------------------------------------------


def test_changing_the_password_ends_the_other_sessions(frontend: LiveFrontend) -> None:
    name = frontend.add_user()
    here, elsewhere = frontend.client(), frontend.client()
    assert here.login(name).status_code == 200
    assert elsewhere.login(name).status_code == 200

    wrong = here.post("/api/password", json={"old": "not it at all", "new": NEW_PASSWORD})
    assert wrong.status_code == 403
    short = here.post("/api/password", json={"old": PASSWORD, "new": "short"})
    assert short.status_code == 400
    assert signed_in_as(elsewhere) == name  # nothing changed yet

    changed = here.post("/api/password", json={"old": PASSWORD, "new": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert SESSION_COOKIE in set_cookies(changed)
    assert signed_in_as(here) == name
    assert signed_in_as(elsewhere) is None
    assert frontend.client().login(name, PASSWORD).status_code == 401
    assert frontend.client().login(name, NEW_PASSWORD).status_code == 200


def test_an_outdated_hash_is_replaced_at_login(frontend: LiveFrontend) -> None:
    from argon2 import PasswordHasher

    name = frontend.add_user()
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)

    async def weaken(db: AsyncSession) -> None:
        user = (await db.execute(select(User).where(User.username == name))).scalar_one()
        user.password_hash = weak
        await db.commit()

    in_database(frontend.database_url, weaken)
    client = frontend.client()
    assert client.login(name).status_code == 200
    row = user_row(frontend, name)
    assert row is not None and row.password_hash != weak
    assert verify_password(row.password_hash, PASSWORD)
    assert signed_in_as(client) == name  # the cookie was made with the new hash


# --- Admins ---------------------------------------------------------------------------------


def test_only_admins_manage_users(frontend: LiveFrontend) -> None:
    member = frontend.user()
    anonymous = frontend.client()
    target = frontend.add_user()
    for client, status in ((anonymous, 401), (member, 403)):
        client.ok("GET", "/api/users", status)
        client.ok(
            "POST", "/api/users", status, json={"username": fresh_name(), "password": PASSWORD}
        )
        client.ok("PATCH", "/api/users/1", status, json={"is_admin": True})
        client.ok("DELETE", "/api/users/1", status)
    assert user_row(frontend, target) is not None


def test_admins_list_add_change_and_delete_users(frontend: LiveFrontend) -> None:
    admin = frontend.user(admin=True)
    listing = admin.get("/api/users")
    assert "argon2" not in listing.text and "hash" not in listing.text
    me = admin.user
    assert me is not None

    name = fresh_name("added")
    added = admin.ok(
        "POST", "/api/users", 201, json={"username": name, "password": PASSWORD, "is_admin": False}
    )
    assert set(added) == {"id", "username", "is_admin", "disabled", "created"}
    assert added["username"] == name and not added["disabled"]
    admin.ok("POST", "/api/users", 409, json={"username": name, "password": PASSWORD})
    names = [user["username"] for user in admin.ok("GET", "/api/users")["users"]]
    assert name in names and names == sorted(names)

    promoted = admin.ok("PATCH", f"/api/users/{added['id']}", json={"is_admin": True})
    assert promoted["is_admin"] is True
    admin.ok("PATCH", "/api/users/999999", 404, json={"is_admin": True})
    admin.ok("PATCH", f"/api/users/{added['id']}", 422, json={"password_hash": "x"})
    admin.ok("PATCH", f"/api/users/{added['id']}", 400, json={"password": "short"})

    # The new password works, the old one and its sessions no longer.
    session = frontend.client()
    assert session.login(name).status_code == 200
    admin.ok("PATCH", f"/api/users/{added['id']}", json={"password": NEW_PASSWORD})
    assert signed_in_as(session) is None
    assert frontend.client().login(name, NEW_PASSWORD).status_code == 200


def test_an_admin_keeps_their_own_rights(frontend: LiveFrontend) -> None:
    admin = frontend.user(admin=True)
    me = admin.user
    assert me is not None
    for change in ({"is_admin": False}, {"disabled": True}, {"is_admin": False, "password": "x"}):
        answer = admin.ok("PATCH", f"/api/users/{me['id']}", 400, json=change)
        assert "yourself" in answer["message"] or "your own" in answer["message"]
    admin.ok("DELETE", f"/api/users/{me['id']}", 400)
    # Setting one's own password through the admin route keeps one signed in.
    admin.ok("PATCH", f"/api/users/{me['id']}", json={"password": NEW_PASSWORD})
    assert signed_in_as(admin) == me["username"]
    row = user_row(frontend, me["username"])
    assert row is not None and row.is_admin and not row.disabled


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(frontend: LiveFrontend) -> None:
    admin = frontend.user(admin=True)
    member = frontend.user()
    assert member.user is not None
    disabled = admin.ok("PATCH", f"/api/users/{member.user['id']}", json={"disabled": True})
    assert disabled["disabled"] is True
    assert signed_in_as(member) is None
    refused = frontend.client().login(member.user["username"])
    assert refused.status_code == 403 and "disabled" in refused.json()["message"]

    admin.ok("PATCH", f"/api/users/{member.user['id']}", json={"disabled": False})
    assert frontend.client().login(member.user["username"]).status_code == 200


def test_deleting_a_user_deletes_their_notebooks(frontend: LiveFrontend) -> None:
    admin = frontend.user(admin=True)
    member = frontend.user()
    assert member.user is not None
    member_id = member.user["id"]

    async def add_notebook(db: AsyncSession) -> str:
        notebook = Notebook(title="theirs", owner_id=member_id, engine_type="python")
        db.add(notebook)
        await db.commit()
        return notebook.id

    notebook_id = in_database(frontend.database_url, add_notebook)
    admin.ok("DELETE", f"/api/users/{member_id}", 204)
    admin.ok("DELETE", f"/api/users/{member_id}", 404)
    assert signed_in_as(member) is None

    async def notebook_left(db: AsyncSession) -> Notebook | None:
        return await db.get(Notebook, notebook_id)

    assert in_database(frontend.database_url, notebook_left) is None
    assert user_row(frontend, member.user["username"]) is None


# --- The command line, against the running frontend -----------------------------------------


def test_users_added_on_the_command_line_sign_in(frontend: LiveFrontend, tmp_path: Path) -> None:
    name = fresh_name("cli")
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    done = frontend.cli("adduser", name, "--admin", "--password-file", str(password_file))
    assert done.returncode == 0, done.stderr
    client = frontend.client()
    assert client.login(name).status_code == 200
    assert client.user is not None and client.user["is_admin"] is True

    password_file.write_text(NEW_PASSWORD)
    done = frontend.cli("passwd", name, "--password-file", str(password_file))
    assert done.returncode == 0, done.stderr
    assert signed_in_as(client) is None
    assert frontend.client().login(name, NEW_PASSWORD).status_code == 200


# --- The rate limit -------------------------------------------------------------------------


def test_too_many_failed_logins_get_429_even_with_the_right_password(
    frontend: LiveFrontend, tmp_path: Path
) -> None:
    # Its own frontend: the per-address count would hold back this module's other tests.
    limited = LiveFrontend(tmp_path / "home", frontend.database_url)
    try:
        limited.start()
        name, bystander = frontend.add_user(), frontend.add_user()
        client = limited.client()
        for _ in range(10):  # config.login_attempts
            assert client.login(name, "wrong guess").status_code == 401
        refused = client.login(name)
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_attempts"
        assert 0 < int(refused.headers["Retry-After"]) <= 300
        assert SESSION_COOKIE not in set_cookies(refused)
        # The lock is the guesser's (this account from this address): the same address signs
        # in to other accounts, and other frontends count on their own.
        assert limited.client().login(bystander).status_code == 200
        assert frontend.client().login(name).status_code == 200
    finally:
        limited.stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _in_process_rate_limit(database_url: str, name: str, other: str) -> None:
    config = FrontendConfig(
        database_url=database_url, secret="s" * 32, login_attempts=3, login_window_seconds=60
    )
    app = create_app(config)
    clock = FakeClock()
    app.state.login_limits = LoginLimits(3, 60, clock=clock)

    async def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app, client=(address, 5000))
        http = httpx.AsyncClient(transport=transport, base_url="http://codenode.test")
        csrf = (await http.get("/api/session")).json()["csrf"]
        http.headers["X-CSRF-Token"] = csrf
        return http

    async def login(http: httpx.AsyncClient, who: str, password: str) -> httpx.Response:
        # The page echoes the CSRF cookie as it is now: each sign-in makes a new one.
        http.headers["X-CSRF-Token"] = http.cookies[CSRF_COOKIE]
        return await http.post("/api/login", json={"username": who, "password": password})

    async with app.router.lifespan_context(app):
        first, second = await client("10.0.0.1"), await client("10.0.0.2")
        try:
            for _ in range(3):
                assert (await login(first, name, "wrong guess")).status_code == 401
            refused = await login(first, name, PASSWORD)
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
            # Locked for this account from this address only: the owner, elsewhere, signs in;
            # so does another account from the guesser's address.
            assert (await login(second, name, PASSWORD)).status_code == 200
            assert (await login(first, other, PASSWORD)).status_code == 200
            # Sent at once, 30 attempts are counted before any password is checked: the
            # limit holds, and the right password among them is refused too.
            third = await client("10.0.0.3")
            try:
                guesses = [login(third, other, "wrong guess") for _ in range(29)]
                answers = await asyncio.gather(*guesses, login(third, other, PASSWORD))
            finally:
                await third.aclose()
            codes = [answer.status_code for answer in answers]
            assert codes.count(401) == 3 and codes.count(429) == 27, codes
            assert codes[-1] == 429

            clock.now += 45
            assert (await login(first, name, PASSWORD)).headers["Retry-After"] == "15"
            clock.now += 15
            assert (await login(first, name, PASSWORD)).status_code == 200
        finally:
            await first.aclose()
            await second.aclose()


def test_the_rate_limit_lifts_when_the_window_passes(frontend: LiveFrontend) -> None:
    name, other = frontend.add_user(), frontend.add_user()
    asyncio.run(_in_process_rate_limit(frontend.database_url, name, other))


# --- The first admin, and the log -----------------------------------------------------------


def test_the_first_admin_is_made_once_on_an_empty_database(database_url: str) -> None:
    async def run() -> None:
        async with opened(database_url) as sessions, sessions() as db:
            password = await ensure_first_admin(db)
            assert password is not None and len(password) >= 16
            admin = await authenticate(db, "admin", password)
            assert admin is not None and admin.is_admin
            assert await ensure_first_admin(db) is None
            assert await authenticate(db, "admin", "wrong") is None

    asyncio.run(run())


def test_passwords_never_reach_the_log(frontend: LiveFrontend) -> None:
    # Runs last in the module: by now the log has seen every route above.
    log = frontend.log()
    assert "Application startup complete" in log
    for secret in (PASSWORD, NEW_PASSWORD, "wrong guess", "$argon2"):
        assert secret not in log


# --- Sessions after sign-out, CSRF bound to the session, names whatever their case ----------


def test_signing_out_ends_the_session_and_any_copy_of_its_cookie(frontend: LiveFrontend) -> None:
    client = frontend.user()
    stolen = client.http.cookies[SESSION_COOKIE]
    assert signed_in_as(client) is not None
    client.ok("POST", "/api/logout", 204)
    thief = frontend.client()
    thief.http.cookies.set(SESSION_COOKIE, stolen)
    assert signed_in_as(thief) is None
    # Signing in again works at once, with a new session.
    assert client.login(client.user["username"]).status_code == 200  # type: ignore[index]
    assert signed_in_as(client) is not None


def test_a_csrf_token_passes_only_with_the_session_it_was_made_for(
    frontend: LiveFrontend,
) -> None:
    victim, attacker = frontend.user(), frontend.user()
    # The attacker's own valid pair: their CSRF cookie and header, with the victim's session.
    forged = frontend.client()
    forged.http.cookies.set(SESSION_COOKIE, victim.http.cookies[SESSION_COOKIE])
    forged.http.cookies.set(CSRF_COOKIE, attacker.http.cookies[CSRF_COOKIE])
    answer = forged.http.post(
        "/api/notebooks",
        json={"title": "forged", "engine_type": "python"},
        headers={"X-CSRF-Token": attacker.http.cookies[CSRF_COOKIE]},
    )
    assert answer.status_code == 403 and answer.json()["error"] == "csrf"
    # The token from before signing in no longer passes after it: a new one was set.
    client = frontend.client()
    client.http.get("/api/session")
    before = client.http.cookies[CSRF_COOKIE]
    name = frontend.add_user()
    assert client.login(name).status_code == 200
    assert client.http.cookies[CSRF_COOKIE] != before
    stale = client.http.post(
        "/api/notebooks",
        json={"title": "stale", "engine_type": "python"},
        headers={"X-CSRF-Token": before},
    )
    assert stale.status_code == 403


def test_usernames_are_one_per_spelling_whatever_the_case(frontend: LiveFrontend) -> None:
    name = fresh_name("Case")
    client = frontend.client()
    first = client.post("/api/signup", json={"username": name.lower(), "password": PASSWORD})
    assert first.status_code == 201, first.text
    again = frontend.client().post(
        "/api/signup", json={"username": name.upper(), "password": PASSWORD}
    )
    assert again.status_code == 409 and "taken" in again.json()["message"]
    assert frontend.client().login(name.upper()).status_code == 200
