"""The HTTP face of workspace files: list, download, upload, rename, make folders, delete.

People manage the files their engines write from the browser; the frontend calls these routes.
Everything that touches the disk is in files.py and runs in a worker thread, so that a large
upload or download never stalls the event loop that also carries the engine bus. The router
has no guard of its own: app.py includes it behind the same token as every other route.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from codenode.backend import files
from codenode.backend.fileerrors import NoSpace, UploadInterrupted
from codenode.backend.workspaces import Workspace, Workspaces
from codenode.openapi import errors


class RenameRequest(BaseModel):
    """Body of POST /workspaces/{key}/files/rename."""

    path: str
    to: str


class FolderRequest(BaseModel):
    """Body of POST /workspaces/{key}/files/folder."""

    path: str


async def workspace_of(request: Request, key: str) -> Workspace:
    """The workspace a route names (on the event loop: Workspaces is not for threads), with
    the largest size limit of the backend's types: what is uploaded before any engine starts
    is bounded too."""
    workspaces: Workspaces = request.app.state.workspaces
    workspace = workspaces.get(key)
    table = getattr(request.app.state, "table", None)  # None: the routes on their own
    size_mb = table.largest_workspace_mb() if table is not None else None
    if size_mb:
        await asyncio.to_thread(workspaces.limit, workspace, size_mb, "the file routes")
    return workspace


@contextmanager
def full_told(request: Request, workspace: Workspace) -> Iterator[None]:
    """A full disk told as the workspace's limit, where it has one."""
    try:
        yield
    except NoSpace as exc:
        usage = request.app.state.workspaces.usage(workspace)
        if usage is None:
            raise
        raise NoSpace(exc.path, limit=usage[1]) from exc


WorkspaceOf = Annotated[Workspace, Depends(workspace_of)]


class DownloadResponse(StreamingResponse):
    """A workspace file streamed out; the file is closed however the response ends."""

    def __init__(self, download: files.Download) -> None:
        super().__init__(
            download.chunks(),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(download.size),
                "Content-Disposition": attachment(download.name),
            },
        )
        self.download = download

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.download.close()


def attachment(name: str) -> str:
    """Content-Disposition for a file name: an ASCII fallback and the name (RFC 5987)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_routes(upload_limit: int = files.UPLOAD_LIMIT) -> APIRouter:
    """The workspace file routes; uploads past upload_limit bytes are refused with 413."""
    router = APIRouter(
        prefix="/workspaces/{key}/files",
        tags=["files"],
        responses=errors(400, 403, 409, 413, 507),  # fileerrors.py, besides the app's own
    )

    @router.get("")
    async def list_files(
        request: Request, workspace: WorkspaceOf, path: str = ""
    ) -> dict[str, Any]:
        """The entries of a folder ('' is the workspace's top), folders first, then by name."""
        listing = await asyncio.to_thread(files.list_folder, workspace, path)
        usage = request.app.state.workspaces.usage(workspace)
        if usage is not None:  # a workspace with a size limit: how full it is
            listing["space"] = {"used": usage[0], "size": usage[1]}
        return listing

    @router.get(
        "/download",
        response_class=Response,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    async def download(workspace: WorkspaceOf, path: str) -> Response:
        """A file's bytes, streamed; a link is refused, never followed."""
        opened = await asyncio.to_thread(files.Download, workspace, path)
        return DownloadResponse(opened)

    @router.put(
        "/upload",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                }
            }
        },
    )
    async def upload(
        request: Request, workspace: WorkspaceOf, path: str, overwrite: bool = False
    ) -> dict[str, Any]:
        """The raw body becomes the file at path (201); 409 if it exists, unless overwrite."""
        length = request.headers.get("content-length", "")
        try:
            with full_told(request, workspace):
                entry = await files.upload(
                    workspace,
                    path,
                    request.stream(),
                    overwrite=overwrite,
                    limit=upload_limit,
                    declared=int(length) if length.isdigit() else None,
                )
        except ClientDisconnect as exc:
            raise UploadInterrupted() from exc
        return entry.describe()

    @router.post("/rename")
    async def rename(workspace: WorkspaceOf, body: RenameRequest) -> dict[str, Any]:
        """Move a file, folder or link to a free path in the same workspace."""
        entry = await asyncio.to_thread(files.rename, workspace, body.path, body.to)
        return entry.describe()

    @router.post("/folder", status_code=201)
    async def make_folder(
        request: Request, workspace: WorkspaceOf, body: FolderRequest
    ) -> dict[str, Any]:
        """A new, empty folder (201); its parent must exist, 409 if the path is taken."""
        with full_told(request, workspace):
            entry = await asyncio.to_thread(files.make_folder, workspace, body.path)
        return entry.describe()

    @router.delete("", status_code=204)
    async def delete(workspace: WorkspaceOf, path: str) -> Response:
        """Remove a file, a link (never what it points at), or a folder and all in it."""
        await asyncio.to_thread(files.delete, workspace, path)
        return Response(status_code=204)

    return router
