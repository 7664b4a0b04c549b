"""The backend's errors. Each one that reaches a client carries an HTTP status and a code.

BackendError                 (500 unless a subclass says otherwise)
├── Unauthorized             401: no token, or the wrong one
├── UnknownEngineType        404: no plug-in declares that type
├── UnknownEngine            404: no engine with that id
├── EngineTypeUnavailable    503: declared, but it cannot run here (the reason says why)
└── EngineStartError         503: the process did not start or did not say ready
"""

from __future__ import annotations


class BackendError(Exception):
    """Base of the backend's errors; ``code`` and ``status`` go into the JSON error answer."""

    code = "backend_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(BackendError):
    """No token, or the wrong one."""

    code, status = "unauthorized", 401


class UnknownEngineType(BackendError):
    """No plug-in declares that type."""

    code, status = "unknown_engine_type", 404

    def __init__(self, name: str) -> None:
        super().__init__(f"no engine type {name!r}: GET /engine-types lists the types")


class UnknownEngine(BackendError):
    """No engine with that id."""

    code, status = "unknown_engine", 404

    def __init__(self, engine_id: str) -> None:
        super().__init__(f"no engine {engine_id!r}: GET /engines lists the running engines")


class EngineTypeUnavailable(BackendError):
    """Declared, but it cannot run on this backend."""

    code, status = "engine_type_unavailable", 503

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"engine type {name!r} is unavailable: {reason}")


class EngineStartError(BackendError):
    """The engine process did not start, or did not say ready in time."""

    code, status = "engine_start_failed", 503

    def __init__(self, type_name: str, reason: str, stderr: str = "") -> None:
        message = f"engine of type {type_name!r} {reason}"
        if stderr.strip():
            message += "; its last output:\n" + stderr.strip()[-2000:]
        super().__init__(message)
