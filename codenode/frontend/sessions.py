"""Who is asking: signed session cookies, and CSRF tokens for every state-changing request.

The session cookie holds the user's id, a fingerprint of their password hash and when it was
made, signed with the environment's secret: changing the password ends every other session,
signing out ends every session made before (``User.sessions_after``). The CSRF token is a
second, signed, script-readable cookie that a state-changing request must echo in the
``X-CSRF-Token`` header (a page on another site can make the browser send cookies, but it
cannot read them to set the header); it is bound to the session cookie it was made with, and
made anew at each sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "codenode_session"
CSRF_COOKIE = "codenode_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def fingerprint(password_hash: str) -> str:
    """A short digest of a password hash: sessions made before a password change stop working."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class SessionSigner:
    """Makes and reads the session and CSRF cookies' values with the environment's secret."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self.max_age = max_age_seconds
        self._sessions = URLSafeTimedSerializer(secret, salt="codenode.session")
        self._csrf = URLSafeTimedSerializer(secret, salt="codenode.csrf")

    def session_value(self, user_id: int, password_hash: str) -> str:
        # "t": when it was made, to the microsecond: signing out ends the sessions made before.
        return self._sessions.dumps(
            {"user": user_id, "fp": fingerprint(password_hash), "t": time.time()}
        )

    def read_session(self, value: str) -> tuple[int, str, float] | None:
        """(user id, password fingerprint, when made) from a cookie value, or None if it is not
        ours (or older than the sessions' lifetime)."""
        try:
            data: Any = self._sessions.loads(value, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        user, fp, made = data.get("user"), data.get("fp"), data.get("t", 0.0)
        if not isinstance(user, int) or not isinstance(fp, str):
            return None
        if not isinstance(made, (int, float)) or isinstance(made, bool):
            return None
        return user, fp, float(made)

    def new_csrf(self, session: str | None) -> str:
        """A CSRF token bound to a session cookie's value (None: no session): another
        cookie and header pair, an attacker's own, does not pass with the victim's session."""
        return self._csrf.dumps({"n": secrets.token_urlsafe(16), "s": _binding(session)})

    def csrf_ok(self, cookie: str | None, header: str | None, session: str | None) -> bool:
        """The header echoes the cookie, the cookie is one this frontend made, and it was made
        for this session (a sign-in makes a new one)."""
        if not cookie or not header or not hmac.compare_digest(cookie, header):
            return False
        try:
            data: Any = self._csrf.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return False
        bound = data.get("s") if isinstance(data, dict) else None
        return isinstance(bound, str) and hmac.compare_digest(bound, _binding(session))


def _binding(session: str | None) -> str:
    """What ties a CSRF token to a session cookie: a digest of its value ('' for none)."""
    return hashlib.sha256(session.encode()).hexdigest()[:32] if session else ""
