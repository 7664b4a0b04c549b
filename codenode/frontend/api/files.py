"""REST routes: the signed-in user's own workspace files (list, upload, download, rename, new
folder, delete), relayed to the backend that holds them (docs/files.md).

The backend does the file work behind its token, inside the workspace folder of a key; the
frontend adds who may: the key is always the caller's own (``workspace_key(user.id)``), made
here, so no path or parameter can reach another user's files. Bodies stream both ways, so
an upload or a download of any size holds no more than a chunk in memory here.

A backend's refusal (404 no such file, 409 exists, 413 too large, 422 bad path or a link, 403
permissions, 507 the workspace's size limit or the disk is full) reaches the user with its
status, code and message; a backend that is down, or failing, or none at all, is a 503 that
says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

import anyio
import httpx
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect

from codenode.frontend.access import SignedIn
from codenode.frontend.backends.client import CHECK_TIMEOUT, OPERATION_TIMEOUT, transport_reason
from codenode.frontend.backends.health import BackendState
from codenode.frontend.backends.registry import BackendRegistry
from codenode.frontend.db import User
from codenode.frontend.errors import BadRequest, FrontendError, Unavailable
from codenode.frontend.workspace import home_backend, workspace_key
from codenode.openapi import errors

# Besides its own: what the backend refuses, passed on (the module's docstring).
router = APIRouter(tags=["files"], responses=errors(401, 409, 503, 507))

MAX_PATH = 4096
"""Characters of a path in the workspace (Linux's PATH_MAX)."""

# Between two chunks of a body, not for all of it: a large file takes as long as it takes.
_TIMEOUT = httpx.Timeout(OPERATION_TIMEOUT, connect=CHECK_TIMEOUT)
# What a download keeps of the backend's answer; nothing else of it reaches the browser.
_DOWNLOAD_HEADERS = ("content-type", "content-length", "content-disposition", "last-modified")

FilePath = Annotated[str, Query(max_length=MAX_PATH, description="relative to the workspace")]


class Renaming(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(max_length=MAX_PATH)
    to: str = Field(max_length=MAX_PATH)


class NewFolder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(max_length=MAX_PATH)


class Refused(FrontendError):
    """A file operation the backend refused: its status, code and message, as it said them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


async def _send(
    request: Request,
    user: User,
    method: str,
    action: str,
    *,
    params: dict[str, str] | None = None,
    json: dict[str, Any] | None = None,
    content: AsyncIterator[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The backend's answer to *method* on the caller's workspace files; its body still to
    read (or stream). Any answer but a 2xx is raised as the error to answer with."""
    registry: BackendRegistry = request.app.state.registry
    home = await home_backend(registry)
    key = quote(workspace_key(user.id, request.app.state.config.secret), safe="")
    http = registry.client.http
    outgoing = http.build_request(
        method,
        f"{home.url.rstrip('/')}/workspaces/{key}/files{action}",
        params=params,
        json=json,
        content=content,
        headers={**(headers or {}), "Authorization": f"Bearer {home.token}"},
        timeout=_TIMEOUT,
    )
    try:
        response = await http.send(outgoing, stream=True)
    except httpx.TransportError as exc:
        reason = transport_reason(exc)
        registry.mark_unreachable(home.id, reason)
        raise Unavailable(
            f"the backend {home.name!r} that holds your files is down: {reason}"
        ) from None
    except ClientDisconnect:
        raise BadRequest("the upload was cut off before its end") from None
    if response.is_success:
        return response
    await _drained(response)
    raise _refusal(registry, home, response)


async def _drained(response: httpx.Response) -> httpx.Response:
    """The answer with its whole (small) body read, and its connection let go."""
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response


def _refusal(
    registry: BackendRegistry, home: BackendState, response: httpx.Response
) -> FrontendError:
    """The error for the backend's non-2xx answer."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("error") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = response.reason_phrase or "error"
    if status == 401:
        registry.mark_unreachable(home.id, "401: wrong token")
        return Unavailable(
            f"the backend {home.name!r} that holds your files refuses this frontend's token"
        )
    if code == "http_404" or code == "http_405":
        # The route itself is missing: a backend from before workspace files.
        return Unavailable(
            f"the backend {home.name!r} that holds your files does not serve files (too old?)"
        )
    if status >= 500 and status != 507:  # 507: the disk is full, which the user can act on
        return Unavailable(
            f"the backend {home.name!r} that holds your files failed: {message[:300]}"
        )
    return Refused(
        status, code if isinstance(code, str) and code else f"http_{status}", message[:1000]
    )


async def _json(response: httpx.Response) -> dict[str, Any]:
    """The JSON object a backend answered with."""
    try:
        answer = (await _drained(response)).json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise Unavailable("the backend that holds your files answered something else than JSON")
    return answer


@router.get("/files")
async def list_files(request: Request, user: SignedIn, path: FilePath = "") -> dict[str, Any]:
    """The files and folders in a folder of the caller's workspace (``""``: its top):
    ``{"path", "entries": [{"name", "path", "kind", "size", "modified"}]}``, and, for a
    workspace with a size limit, how full it is: ``"space": {"used", "size"}`` in bytes
    (passed on as the backend said it)."""
    return await _json(await _send(request, user, "GET", "", params={"path": path}))


@router.get(
    "/files/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
async def download_file(request: Request, user: SignedIn, path: FilePath) -> StreamingResponse:
    """A file of the caller's workspace, as an attachment, streamed as the backend reads it."""
    answer = await _send(request, user, "GET", "/download", params={"path": path})
    headers = {name: answer.headers[name] for name in _DOWNLOAD_HEADERS if name in answer.headers}
    if "content-encoding" in answer.headers:
        headers["content-encoding"] = answer.headers["content-encoding"]
    if not headers.get("content-disposition", "").startswith("attachment"):
        headers["content-disposition"] = "attachment"  # saved, never shown in place
    # Served from the frontend's own origin: nothing in the file may run here.
    headers["x-content-type-options"] = "nosniff"
    headers["content-security-policy"] = "default-src 'none'; sandbox"

    async def relayed() -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_raw():
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):  # also when the browser went away mid-file
                await answer.aclose()

    return StreamingResponse(relayed(), headers=headers, background=BackgroundTask(answer.aclose))


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.put("/files/upload", status_code=201, openapi_extra=_UPLOAD_BODY)
async def upload_file(
    request: Request, user: SignedIn, path: FilePath, overwrite: bool = False
) -> dict[str, Any]:
    """Write the request's body (the file's bytes, as they are) to *path* in the caller's
    workspace: 201 and its entry; 409 if it exists (unless *overwrite*); 413 too large."""
    headers = {"Content-Type": "application/octet-stream"}
    length = request.headers.get("content-length")
    if length is not None:
        headers["Content-Length"] = length
    params = {"path": path, **({"overwrite": "true"} if overwrite else {})}
    answer = await _send(
        request, user, "PUT", "/upload", params=params, content=request.stream(), headers=headers
    )
    return await _json(answer)


@router.post("/files/rename")
async def rename_file(request: Request, user: SignedIn, body: Renaming) -> dict[str, Any]:
    """Rename or move a file or folder within the caller's workspace: its new entry."""
    return await _json(await _send(request, user, "POST", "/rename", json=body.model_dump()))


@router.post("/files/folder", status_code=201)
async def new_folder(request: Request, user: SignedIn, body: NewFolder) -> dict[str, Any]:
    """A new, empty folder in the caller's workspace: 201 and its entry."""
    return await _json(await _send(request, user, "POST", "/folder", json=body.model_dump()))


@router.delete("/files", status_code=204)
async def delete_file(request: Request, user: SignedIn, path: FilePath) -> Response:
    """Delete a file, or a folder with everything in it, from the caller's workspace."""
    await _drained(await _send(request, user, "DELETE", "", params={"path": path}))
    return Response(status_code=204)
