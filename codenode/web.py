"""What the backend and the frontend answer alike: one shape for every error.

Every error answer is ``{"error": code, "message": text}`` with the fitting status; malformed
requests get 422 with every problem named, never a 500.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


def error_response(code: str, message: str, status: int) -> JSONResponse:
    """The one shape of every error answer."""
    return JSONResponse({"error": code, "message": message}, status_code=status)


def answer_errors_as_json(app: FastAPI) -> None:
    """Validation errors and Starlette's own (404, 405) in the one shape."""

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        return error_response("bad_request", problems, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(f"http_{exc.status_code}", str(exc.detail), exc.status_code)
