"""REST routes: notebooks exported as files (.ipynb, .py, .html) and files imported as
notebooks. The converters are in ``codenode.frontend.interchange``; docs/import-export.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import UploadFile

from codenode.frontend import notebooks
from codenode.frontend.access import Db, Reader, SignedIn
from codenode.frontend.api.changes import whole
from codenode.frontend.api.params import ENGINE_TYPE_RULE, is_engine_type_name
from codenode.frontend.errors import BadRequest, TooLarge, Unprocessable
from codenode.frontend.interchange import files
from codenode.frontend.interchange.html import CONTENT_SECURITY_POLICY
from codenode.openapi import errors

router = APIRouter(tags=["import and export"], responses=errors(401))

# Room for the multipart framing and the small form fields around the file itself.
_FORM_OVERHEAD = 64 * 1024

_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "engine_type": {"type": "string"},
                        "location": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.get(
    "/notebooks/{notebook_id}/export",
    response_class=Response,
    responses={
        200: {
            "content": {fmt.media_type.split(";")[0]: {} for fmt in files.FORMATS.values()},
            "description": "the notebook as a file",
        }
    },
)
async def export_notebook(
    access: Reader,
    db: Db,
    format: Annotated[Literal["ipynb", "py", "html"], Query()] = "ipynb",
) -> Response:
    """The notebook as a file to download: .ipynb (with outputs), .py (percent format) or a
    standalone HTML page."""
    notebook = await notebooks.load(db, access.notebook.id)
    text = files.export_text(notebooks.snapshot(notebook), format)
    headers = {
        "Content-Disposition": files.content_disposition(notebook.title, format),
        "X-Content-Type-Options": "nosniff",
        # Served from the frontend's own origin: nothing in the file may run here.
        "Content-Security-Policy": CONTENT_SECURITY_POLICY + "; frame-ancestors 'none'; sandbox",
    }
    return Response(text, media_type=files.FORMATS[format].media_type, headers=headers)


@router.post("/notebooks/import", status_code=201, openapi_extra=_IMPORT_BODY)
async def import_notebook(request: Request, user: SignedIn, db: Db) -> dict[str, Any]:
    """A new notebook of the caller's from an uploaded .ipynb or .py file (multipart field
    ``file``; optional fields ``engine_type``, which replaces the file's, and ``location``)."""
    # The form is read here, not by FastAPI, so that an oversized upload is refused before
    # its body is read at all.
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > files.MAX_IMPORT_BYTES + _FORM_OVERHEAD:
        raise _too_large()
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequest("send the file as the multipart/form-data field 'file'")
        data = await upload.read(files.MAX_IMPORT_BYTES + 1)
        name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        engine_type = _field(form.get("engine_type"), "engine_type")
        location = _field(form.get("location"), "location") or ""
    if len(data) > files.MAX_IMPORT_BYTES:
        raise _too_large()
    notebooks.check_location(location)
    try:
        imported = files.read_file(name, data, engine_type)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    except RecursionError:
        # json and nbformat recurse once per level: a file nested thousands deep is no notebook.
        raise BadRequest("not a notebook: the file is nested too deep") from None
    if not is_engine_type_name(imported.engine_type):
        given = "engine_type" if engine_type else "the file's engine type"
        raise Unprocessable(f"{given} {imported.engine_type[:100]!r}: {ENGINE_TYPE_RULE}")
    # As files.import_file, with the engine type checked in between.
    notebook = await notebooks.create(
        db,
        user.id,
        imported.title,
        imported.engine_type,
        imported.cells,
        location=location,
        summary=f"imported from {name[:200]}",
    )
    return await whole(db, notebook.id, "owner")


def _field(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a text field, not a file")
    return value


def _too_large() -> TooLarge:
    return TooLarge(f"the file is larger than {files.MAX_IMPORT_BYTES // (1024 * 1024)} MB")
