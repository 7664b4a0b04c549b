"""Files in and out of the database: a notebook exported as a file, a file imported as a
notebook. Shared by the REST API and the ``codenode export`` / ``codenode import`` commands."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend import notebooks
from codenode.frontend.db import Notebook
from codenode.frontend.interchange import (
    DEFAULT_ENGINE_TYPE,
    Imported,
    Snapshot,
    check_engine_type,
    html,
    percent,
)

MAX_IMPORT_BYTES = 20 * 1024 * 1024
"""The largest file an import takes (notebooks with many images are large, but not this)."""


# nbformat (through jsonschema) costs ~37 MiB and ~1.7 s to import: only when a .ipynb is
# written or read, not in every frontend process at start.
def _ipynb_dumps(snapshot: Snapshot) -> str:
    from codenode.frontend.interchange import ipynb

    return ipynb.dumps(snapshot)


def _ipynb_read(text: str, name: str, default_engine_type: str) -> Imported:
    from codenode.frontend.interchange import ipynb

    return ipynb.read(text, name, default_engine_type)


@dataclass(frozen=True)
class Format:
    """A file format a notebook can be exported to."""

    suffix: str
    media_type: str
    write: Callable[[Snapshot], str]


FORMATS = {
    "ipynb": Format(".ipynb", "application/x-ipynb+json", _ipynb_dumps),
    "py": Format(".py", "text/x-python; charset=utf-8", percent.dumps),
    "html": Format(".html", "text/html; charset=utf-8", html.dumps),
}

READERS: dict[str, Callable[[str, str, str], Imported]] = {
    ".ipynb": _ipynb_read,
    ".py": percent.read,
}
"""The formats an import reads, by file name suffix."""


def format_of(filename: str) -> str | None:
    """The export format a file name asks for by its suffix, if any."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == ".htm":
        return "html"
    return next((name for name, fmt in FORMATS.items() if fmt.suffix == suffix), None)


def read_file(name: str, data: bytes, engine_type: str | None = None) -> Imported:
    """The notebook in the file called *name* holding *data*; its format from the name's
    suffix. *engine_type*, if given, replaces the file's. ValueError if it cannot be read."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    reader = READERS.get(suffix)
    if reader is None:
        raise ValueError(f"cannot import {name!r}: the file name must end with .ipynb or .py")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the file is not UTF-8 text (byte {exc.start})") from None
    imported = reader(text, name, engine_type or DEFAULT_ENGINE_TYPE)
    if engine_type:
        imported.engine_type = check_engine_type(engine_type)
    return imported


async def import_file(
    db: AsyncSession,
    owner_id: int,
    name: str,
    data: bytes,
    engine_type: str | None = None,
    location: str = "",
) -> Notebook:
    """A new notebook of *owner_id* from a file, committed, its first revision saying where
    it came from. ValueError if the file cannot be read."""
    imported = read_file(name, data, engine_type)
    return await notebooks.create(
        db,
        owner_id,
        imported.title,
        imported.engine_type,
        imported.cells,
        location=location,
        summary=f"imported from {name[:200]}",
    )


def export_text(snapshot: Snapshot, format: str) -> str:
    """The snapshot written in *format* (a key of FORMATS)."""
    return FORMATS[format].write(snapshot)


def filename(title: str, format: str) -> str:
    """A file name for a notebook called *title*: ASCII letters, digits and ``._ -`` only,
    so that it is safe in a header, a shell and any file system."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", ascii_title).strip(" ._-")[:100].rstrip(" ._-")
    return (safe or "notebook") + FORMATS[format].suffix


def content_disposition(title: str, format: str) -> str:
    """A Content-Disposition header that downloads the file under a name from *title*: an
    ASCII name for every browser, and the title itself (RFC 5987) for those that read it."""
    plain = filename(title, format)
    readable = re.sub(r'[\x00-\x1f\x7f/\\"]+', "_", title).strip(" .")[:100]
    full = (readable or "notebook") + FORMATS[format].suffix
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(full, safe='')}"
