"""`codenode export NOTEBOOK_ID [--format F] [-o FILE]` and `codenode import FILE --owner NAME
[--engine-type T]`: notebooks to and from files, straight on the environment's database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend import notebooks
from codenode.frontend.commands import with_database
from codenode.frontend.errors import FrontendError
from codenode.frontend.interchange import files
from codenode.frontend.users import by_name


def main(args: argparse.Namespace) -> None:
    """Run `codenode export` or `codenode import`; errors end the command with status 1."""
    try:
        if args.command == "export":
            export(args.notebook, args.format, args.output)
        else:
            import_(args.file, args.owner, args.engine_type)
    except (FrontendError, ValueError, OSError) as exc:
        raise SystemExit(f"codenode {args.command}: {_message(exc)}") from None


def export(notebook_id: str, format: str | None, output: Path | None) -> None:
    """Write the notebook to *output* (or stdout) in *format*, else the one *output*'s suffix
    names, else .ipynb."""
    chosen = format or (files.format_of(output.name) if output else None) or "ipynb"

    async def work(db: AsyncSession) -> str:
        notebook = await notebooks.load(db, notebook_id)
        return files.export_text(notebooks.snapshot(notebook), chosen)

    text = with_database(work)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def import_(path: Path, owner: str, engine_type: str | None) -> None:
    """Make a notebook of *owner*'s from the file at *path*; print its id."""
    data = path.read_bytes()

    async def work(db: AsyncSession) -> str:
        user = await by_name(db, owner)
        if user is None:
            raise ValueError(f"no user {owner!r}")
        notebook = await files.import_file(db, user.id, path.name, data, engine_type)
        return notebook.id

    print(with_database(work))


def _message(exc: Exception) -> str:
    if isinstance(exc, FrontendError):
        return exc.message
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)
