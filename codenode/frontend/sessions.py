"""Who is asking: signed session cookies, and CSRF tokens for every state-changing request.

The session cookie holds the user's id and a fingerprint of their password hash, signed with
the environment's secret: changing the password ends every other session. The CSRF token is a
second, signed, script-readable cookie that a state-changing request must echo in the
``X-CSRF-Token`` header (a page on another site can make the browser send cookies, but it
cannot read them to set the header).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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
        return self._sessions.dumps({"user": user_id, "fp": fingerprint(password_hash)})

    def read_session(self, value: str) -> tuple[int, str] | None:
        """(user id, password fingerprint) from a cookie value, or None if it is not ours."""
        try:
            data: Any = self._sessions.loads(value, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        user, fp = data.get("user"), data.get("fp")
        if not isinstance(user, int) or not isinstance(fp, str):
            return None
        return user, fp

    def new_csrf(self) -> str:
        return self._csrf.dumps(secrets.token_urlsafe(16))

    def csrf_ok(self, cookie: str | None, header: str | None) -> bool:
        """The header echoes the cookie, and the cookie is one this frontend made."""
        if not cookie or not header or not hmac.compare_digest(cookie, header):
            return False
        try:
            self._csrf.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return False
        return True
