"""Errors the frontend answers with: each has a status and a machine-readable code.

Every error answer has one shape, ``{"error": code, "message": text}``.
"""

from __future__ import annotations


class FrontendError(Exception):
    """A request the frontend refuses or cannot serve; the message is for the user."""

    status = 500
    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(FrontendError):
    status = 400
    code = "bad_request"


class NotSignedIn(FrontendError):
    status = 401
    code = "not_signed_in"


class Forbidden(FrontendError):
    status = 403
    code = "forbidden"


class CsrfFailed(Forbidden):
    code = "csrf"


class NotFound(FrontendError):
    status = 404
    code = "not_found"


class Conflict(FrontendError):
    status = 409
    code = "conflict"


class TooLarge(FrontendError):
    """An upload over the size the frontend takes."""

    status = 413
    code = "too_large"


class Unprocessable(FrontendError):
    """A well-formed request with a value the frontend does not take (as validation's 422)."""

    status = 422
    code = "bad_request"


class TooManyAttempts(FrontendError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(FrontendError):
    """No backend can serve the request (none healthy, none offering the engine type)."""

    status = 503
    code = "unavailable"
