"""REST routes: who is signed in, sign-up, login and logout, passwords, and (for admins) users.

Cookies: the session cookie is HttpOnly and SameSite=Lax; the CSRF cookie is readable by the
page's scripts (they echo it in ``X-CSRF-Token``) and SameSite=Strict. Both are Secure when the
request came over HTTPS (uvicorn takes the scheme from a trusted proxy's X-Forwarded-Proto).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from codenode.frontend import users
from codenode.frontend.access import Admin, Anyone, Db, SignedIn
from codenode.frontend.api.params import RowId
from codenode.frontend.db import User
from codenode.frontend.errors import BadRequest, Forbidden, NotSignedIn, TooManyAttempts
from codenode.frontend.ratelimit import LoginLimits
from codenode.frontend.sessions import CSRF_COOKIE, SESSION_COOKIE, SessionSigner
from codenode.openapi import errors

router = APIRouter(tags=["users"], responses=errors(401))

# Long enough for any passphrase; short enough that hashing it is no way to spend our CPU.
PASSWORD_FIELD = Field(max_length=1024)

SIGNUP_REFUSED = {
    "closed": "sign-up is closed: the site's administrator adds users (`codenode adduser`)",
    "admin": "sign-up is by invitation: ask an admin of this site to add you",
}


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=150)
    password: str = PASSWORD_FIELD


class NewUser(Credentials):
    is_admin: bool = False


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old: str = PASSWORD_FIELD
    new: str = PASSWORD_FIELD


class UserChange(BaseModel):
    """What an admin may change about a user; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    is_admin: bool | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


def user_dict(user: User) -> dict[str, Any]:
    """A user as the signed-in user sees themselves (never the password hash)."""
    return {"id": user.id, "username": user.username, "is_admin": user.is_admin}


def account_dict(user: User) -> dict[str, Any]:
    """A user as an admin sees them."""
    return {**user_dict(user), "disabled": user.disabled, "created": user.created.isoformat()}


def _signer(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.signer
    return signer


def _limits(request: Request) -> LoginLimits:
    limits: LoginLimits = request.app.state.login_limits
    return limits


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _over_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def sign_in(request: Request, response: Response, user: User) -> None:
    """Set *user*'s session cookie on *response*, and a CSRF token made for that session (the
    one from before the sign-in no longer passes)."""
    signer = _signer(request)
    value = signer.session_value(user.id, user.password_hash)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=signer.max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_over_tls(request),
    )
    set_csrf(request, response, signer.new_csrf(value))


def set_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=_signer(request).max_age,
        path="/",
        httponly=False,  # the page's scripts read it to echo it
        samesite="strict",
        secure=_over_tls(request),
    )


@router.get("/session")
async def session(request: Request, response: Response, user: Anyone) -> dict[str, Any]:
    """Who is signed in, the CSRF token to echo, and how people get an account here."""
    signer = _signer(request)
    token = request.cookies.get(CSRF_COOKIE)
    session_cookie = request.cookies.get(SESSION_COOKIE)  # as check_csrf will see it
    if not token or not signer.csrf_ok(token, token, session_cookie):
        token = signer.new_csrf(session_cookie)
        set_csrf(request, response, token)
    return {
        "user": None if user is None else user_dict(user),
        "csrf": token,
        "signup": request.app.state.config.signup,
    }


@router.post("/signup", status_code=201, responses=errors(409))
async def signup(
    request: Request, response: Response, body: Credentials, db: Db, visitor: Anyone
) -> dict[str, Any]:
    """A new account, signed in; only when sign-up is open."""
    mode = request.app.state.config.signup
    if mode != "open":
        raise Forbidden(SIGNUP_REFUSED.get(mode, "sign-up is closed"))
    user = await users.add_user(db, body.username, body.password)
    sign_in(request, response, user)
    return {"user": user_dict(user)}


@router.post("/login", responses=errors(429))
async def login(
    request: Request, response: Response, body: Credentials, db: Db, visitor: Anyone
) -> dict[str, Any]:
    """Sign in with a username and password."""
    # Counted before the password is checked, so that attempts sent at once cannot all be
    # checked; past the limit, even the right password is refused.
    address = _address(request)
    wait = _limits(request).begin(body.username, address)
    if wait:
        raise TooManyAttempts(f"too many failed sign-ins: try again in {wait} seconds", wait)
    user = await users.authenticate(db, body.username, body.password)
    if user is None:
        raise NotSignedIn("wrong username or password")
    _limits(request).succeeded(body.username, address)
    if user.disabled:
        raise Forbidden("this account is disabled: ask an admin of this site")
    await users.rehash_if_needed(db, user, body.password)
    sign_in(request, response, user)
    return {"user": user_dict(user)}


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, db: Db, visitor: Anyone) -> None:
    """Sign out: this user's sessions end, on every device (a copy of the cookie too), and
    the cookie is cleared."""
    if visitor is not None:
        visitor.sessions_after = datetime.now(UTC)
        await db.commit()
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_over_tls(request)
    )
    set_csrf(request, response, _signer(request).new_csrf(None))


@router.post("/password", responses=errors(429))
async def change_password(
    request: Request, response: Response, body: PasswordChange, db: Db, user: SignedIn
) -> dict[str, Any]:
    """Change your password; your other sessions end, this one goes on."""
    # The old password is a guess like a login's: a stolen session cookie must not give an
    # unlimited number of them.
    address = _address(request)
    wait = _limits(request).begin(user.username, address)
    if wait:
        raise TooManyAttempts(f"too many failed sign-ins: try again in {wait} seconds", wait)
    if not await users.password_matches(user.password_hash, body.old):
        raise Forbidden("the old password is wrong")
    _limits(request).succeeded(user.username, address)
    await users.change_password(db, user, body.new)
    sign_in(request, response, user)
    return {"user": user_dict(user)}


# --- Admins: users ------------------------------------------------------------------------


@router.get("/users")
async def list_users(db: Db, me: Admin) -> dict[str, Any]:
    """Every user, by name."""
    everyone = (await db.execute(select(User).order_by(User.username))).scalars().all()
    return {"users": [account_dict(user) for user in everyone]}


@router.post("/users", status_code=201, responses=errors(409))
async def add_user(body: NewUser, db: Db, me: Admin) -> dict[str, Any]:
    """Add a user, whatever the sign-up setting."""
    user = await users.add_user(db, body.username, body.password, body.is_admin)
    return account_dict(user)


@router.patch("/users/{user_id}")
async def change_user(
    request: Request, response: Response, user_id: RowId, body: UserChange, db: Db, me: Admin
) -> dict[str, Any]:
    """Make a user an admin or not, disable or enable them, or set their password."""
    user = await users.by_id(db, user_id)
    if user.id == me.id and (body.is_admin is False or body.disabled is True):
        # Keeps at least one admin able to sign in.
        raise BadRequest("you may not remove your own admin rights or disable yourself")
    if body.password is not None:
        users.check_password(body.password)  # before anything changes
    if body.is_admin is not None:
        user.is_admin = body.is_admin
    if body.disabled is not None:
        user.disabled = body.disabled
    if body.password is not None:
        await users.change_password(db, user, body.password)
        if user.id == me.id:
            sign_in(request, response, user)
    await db.commit()
    return account_dict(user)


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(request: Request, user_id: RowId, db: Db, me: Admin) -> None:
    """Delete a user and their notebooks."""
    user = await users.by_id(db, user_id)
    if user.id == me.id:
        raise BadRequest("you may not delete yourself")
    for notebook_id in await users.delete_user(db, user):
        await request.app.state.hub.forget(notebook_id)
