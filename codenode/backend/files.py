"""Files in a workspace, for the people whose engines write them: list, download, upload,
rename, make folders, delete; never anything outside the workspace.

A workspace belongs to somebody's arbitrary code: the engine can put a symbolic link anywhere
in it (``os.symlink('/etc', 'x')``), and swap one in between any check of ours and its use. So
no path string is ever handed to the kernel whole. A path is split into names, and each name is
opened relative to the descriptor of the folder before it, from a descriptor of the workspace
folder, with ``O_NOFOLLOW``: a link in the path is refused, never followed, and the folder
reached is the folder checked. Renames, removals and new files then act relative to that
descriptor (``dir_fd``), on the link itself where the last name is one.

When the backend is root, what it makes here belongs to the workspace's identity, so that its
engines (running as that identity) can read and write it, and it gives out only what that
identity could read itself (a hard link to a file of root's is refused, though no link was
followed). Everything here blocks: the routes call it off the event loop.

Its errors are in fileerrors.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import stat
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from codenode.backend.errors import BackendError
from codenode.backend.fileerrors import (
    AlreadyExists,
    BadPath,
    FileError,
    Forbidden,
    IsAFolder,
    IsALink,
    NoSpace,
    NoSuchFile,
    NotAFile,
    NotAFolder,
    TopOfWorkspace,
    UploadInterrupted,
    UploadTooLarge,
)
from codenode.backend.workspaces import Workspace

CHUNK = 1 << 20  # bytes read or written per trip off the event loop
UPLOAD_LIMIT = 10 << 30  # the default cap on one upload
MAX_PATH = 4096  # bytes, Linux's PATH_MAX
MAX_NAME = 255  # bytes, Linux's NAME_MAX
FILE_MODE, FOLDER_MODE = 0o644, 0o755  # the workspace folder itself is 0700: nobody else enters
TEMP_PREFIX = ".codenode-upload-"
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a named pipe the engine made must not wait for a writer.
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

Parts = tuple[str, ...]


def parse(path: str) -> Parts:
    """The names of a workspace-relative, '/'-separated path; BadPath if it could leave."""
    if "\0" in path:
        raise BadPath("a path cannot contain a NUL byte")
    if path.startswith("/"):
        raise BadPath(f"{path!r} is absolute: paths are relative to the workspace's top")
    parts = tuple(name for name in path.split("/") if name not in ("", "."))
    if ".." in parts:
        raise BadPath(f"{path!r} has a '..' component: paths stay inside the workspace")
    try:
        sizes = [len(name.encode()) for name in parts]
    except UnicodeEncodeError:
        raise BadPath("a path must be valid text (UTF-8)") from None
    if any(size > MAX_NAME for size in sizes):
        raise BadPath(f"a name in a path is limited to {MAX_NAME} bytes")
    if sum(sizes) + len(sizes) > MAX_PATH:
        raise BadPath(f"a path is limited to {MAX_PATH} bytes")
    return parts


def joined(parts: Parts) -> str:
    """The path of parts as the API shows it."""
    return "/".join(parts)


@dataclass(frozen=True)
class Entry:
    """One thing in a workspace folder, as listed."""

    name: str
    path: str
    kind: str  # file, folder, link, or other (a pipe, socket or device)
    size: int | None  # files only
    modified: float

    @classmethod
    def of(cls, parts: Parts, info: os.stat_result) -> Entry:
        """The entry of what is at parts, from its lstat."""
        kind = _kind(info.st_mode)
        shown = tuple(_shown(name) for name in parts)
        size = info.st_size if kind == "file" else None
        return cls(shown[-1], joined(shown), kind, size, info.st_mtime)

    def describe(self) -> dict[str, Any]:
        """The entry as the API answers it."""
        return {
            "name": self.name,
            "path": self.path,
            "kind": self.kind,
            "size": self.size,
            "modified": self.modified,
        }


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "folder"
    return "file" if stat.S_ISREG(mode) else "other"


def _shown(name: str) -> str:
    """A name as text: bytes that are not UTF-8 (an engine may write any) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def failure(exc: OSError, path: str) -> BackendError:
    """The error to answer for an OSError met at path (relative to the workspace)."""
    number = exc.errno
    if number == errno.ENOENT:
        return NoSuchFile(path)
    if number in (errno.EEXIST, errno.ENOTEMPTY):
        return AlreadyExists(path)
    if number == errno.ELOOP:
        return IsALink(path)
    if number == errno.ENOTDIR:
        return NotAFolder(path)
    if number == errno.EISDIR:
        return IsAFolder(path)
    if number in (errno.ENOSPC, errno.EDQUOT):
        return NoSpace(path)
    if number in (errno.EACCES, errno.EPERM):
        return Forbidden(path)
    if number in (errno.ENAMETOOLONG, errno.EINVAL):
        return BadPath(f"{path!r} cannot be used here: {os.strerror(number)}")
    return FileError(f"{path!r}: {os.strerror(number or errno.EIO)}")


@contextlib.contextmanager
def _translated(path: str) -> Iterator[None]:
    """OSErrors raised inside become the fitting FileError, naming the relative path."""
    try:
        yield
    except OSError as exc:
        raise failure(exc, path) from exc


def _open_folder(at: int, name: str, path: str) -> int:
    """A descriptor of the folder name in the folder at; a link there is refused."""
    try:
        return os.open(name, _FOLDER, dir_fd=at)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.ELOOP):
            # O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a link too: tell the user which it is.
            info = os.stat(name, dir_fd=at, follow_symlinks=False)
            raise (IsALink(path) if stat.S_ISLNK(info.st_mode) else NotAFolder(path)) from exc
        raise failure(exc, path) from exc


@contextlib.contextmanager
def folder(workspace: Workspace, parts: Parts) -> Iterator[int]:
    """A descriptor of the folder at parts, reached name by name without following links."""
    fd = os.open(workspace.path, _FOLDER)
    try:
        for depth, name in enumerate(parts, 1):
            inner = _open_folder(fd, name, joined(parts[:depth]))
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _last(parts: Parts, action: str) -> str:
    if not parts:
        raise TopOfWorkspace(action)
    return parts[-1]


def _lstat(at: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=at, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _own(fd: int, workspace: Workspace, mode: int) -> None:
    """Make what fd opens the workspace identity's, with mode (umask notwithstanding)."""
    if os.geteuid() == 0:
        os.fchown(fd, workspace.uid, workspace.gid)
    os.fchmod(fd, mode)


def list_folder(workspace: Workspace, path: str) -> dict[str, Any]:
    """The folder's entries, folders first, then by name; links are listed, not followed."""
    parts = parse(path)
    entries: list[Entry] = []
    with folder(workspace, parts) as fd, _translated(joined(parts)), os.scandir(fd) as listing:
        for item in listing:
            try:
                info = item.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while we listed
            entries.append(Entry.of((*parts, item.name), info))
    entries.sort(key=lambda e: (e.kind != "folder", e.name.casefold(), e.name))
    return {"path": joined(parts), "entries": [entry.describe() for entry in entries]}


def make_folder(workspace: Workspace, path: str) -> Entry:
    """A new, empty folder; its parent must exist."""
    parts = parse(path)
    name = _last(parts, "made again")
    with folder(workspace, parts[:-1]) as parent, _translated(joined(parts)):
        os.mkdir(name, FOLDER_MODE, dir_fd=parent)
        made = _open_folder(parent, name, joined(parts))
        try:
            _own(made, workspace, FOLDER_MODE)
            return Entry.of(parts, os.fstat(made))
        finally:
            os.close(made)


def rename(workspace: Workspace, path: str, to: str) -> Entry:
    """Move what is at path (a link: the link itself) to a new path that is free."""
    source, target = parse(path), parse(to)
    old, new = _last(source, "renamed"), _last(target, "replaced")
    with (
        folder(workspace, source[:-1]) as here,
        folder(workspace, target[:-1]) as there,
    ):
        if _lstat(here, old) is None:
            raise NoSuchFile(joined(source))
        # The engine could make the target between this check and the rename: then it is
        # replaced, inside the same workspace, which is the engine's own doing.
        if _lstat(there, new) is not None:
            raise AlreadyExists(joined(target), ": delete it first, or choose another name")
        try:
            os.rename(old, new, src_dir_fd=here, dst_dir_fd=there)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise BadPath(f"{path!r} cannot move into itself") from exc
            raise failure(exc, joined(source)) from exc
        with _translated(joined(target)):
            return Entry.of(target, os.stat(new, dir_fd=there, follow_symlinks=False))


def delete(workspace: Workspace, path: str) -> None:
    """Remove a file or link (never what a link points at), or a folder and all in it."""
    parts = parse(path)
    name = _last(parts, "deleted")
    with folder(workspace, parts[:-1]) as parent, _translated(joined(parts)):
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            remove_tree(parent, name)
        else:
            os.unlink(name, dir_fd=parent)


def remove_tree(parent: int, name: str) -> None:
    """Remove the folder name of parent with everything in it, following no link.

    Depth-first with a stack rather than recursion, so that a tree deeper than Python's
    recursion limit goes too; each folder is opened relative to its parent with O_NOFOLLOW.
    """
    stack = [(parent, name, _open_folder(parent, name, name))]
    try:
        while stack:
            above, here, fd = stack[-1]
            inner = _empty_but_folders(fd)
            if inner is None:
                stack.pop()
                os.close(fd)
                os.rmdir(here, dir_fd=above)
            else:
                stack.append((fd, inner, _open_folder(fd, inner, inner)))
    finally:
        for _, _, fd in stack:
            os.close(fd)


def _empty_but_folders(fd: int) -> str | None:
    """Unlink what is not a folder in the folder fd; the name of a folder left, if any."""
    with os.scandir(fd) as listing:
        for item in listing:
            if item.is_dir(follow_symlinks=False):
                return item.name
            os.unlink(item.name, dir_fd=fd)
    return None


class Handle:
    """A file descriptor shared by the event loop and worker threads.

    A worker may still be reading or writing when its request is cancelled; closing the fd
    under it could let the number be reused by another open, and the next write land there.
    The lock makes close wait for the read or write in flight, and the fd unused after.
    """

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd
        self._lock = threading.Lock()

    def read(self, size: int) -> bytes:
        """Up to size bytes; b'' once closed or at the end."""
        with self._lock:
            return b"" if self.fd is None else os.read(self.fd, size)

    def write(self, data: bytes) -> None:
        """All of data."""
        with self._lock:
            view = memoryview(data)
            while view and self.fd is not None:
                view = view[os.write(self.fd, view) :]

    def close(self) -> None:
        """Close the fd once (later calls do nothing)."""
        with self._lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None


class Download:
    """An open regular file of a workspace, to be streamed out and then closed."""

    def __init__(self, workspace: Workspace, path: str) -> None:
        parts = parse(path)
        self.name = _shown(_last(parts, "downloaded"))
        shown = joined(parts)
        with folder(workspace, parts[:-1]) as parent:
            try:
                fd = os.open(parts[-1], _READ, dir_fd=parent)
            except OSError as exc:
                raise failure(exc, shown) from exc
        self.handle = Handle(fd)
        try:
            info = os.fstat(fd)
            _check_readable(info, workspace, shown)
        except BaseException:
            self.handle.close()
            raise
        self.size = info.st_size

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, at most its size when opened, a CHUNK per trip to a thread."""
        left = self.size
        while left > 0:
            data = await asyncio.to_thread(self.handle.read, min(CHUNK, left))
            if not data:
                return
            left -= len(data)
            yield data

    def close(self) -> None:
        """Close the file (again is fine)."""
        self.handle.close()


def _check_readable(info: os.stat_result, workspace: Workspace, path: str) -> None:
    """Refuse what is not a regular file, and, as root, what the workspace could not read."""
    if stat.S_ISDIR(info.st_mode):
        raise IsAFolder(path)
    if not stat.S_ISREG(info.st_mode):
        raise NotAFile(path)
    if os.geteuid() == 0 and not _readable_by(info, workspace):
        raise Forbidden(path, "the workspace's own engines may not read it, so neither may you")


def _readable_by(info: os.stat_result, workspace: Workspace) -> bool:
    """Whether the workspace's identity may read the file (as the kernel would decide)."""
    if info.st_uid == workspace.uid:
        return bool(info.st_mode & stat.S_IRUSR)
    if info.st_gid == workspace.gid:
        return bool(info.st_mode & stat.S_IRGRP)
    return bool(info.st_mode & stat.S_IROTH)


class Upload:
    """A file being received: written to a temporary file in its folder, renamed in at the end.

    The folder's descriptor is held from start to end, so the file lands in the folder that was
    checked even if a link is swapped in for it meanwhile.
    """

    def __init__(self, workspace: Workspace, parts: Parts, overwrite: bool) -> None:
        self.name = _last(parts, "uploaded to")
        self.parts, self.overwrite, self.path = parts, overwrite, joined(parts)
        self.temp = f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        # finish runs in a thread; abort may run on the loop meanwhile, if the request is cancelled.
        self._lock = threading.Lock()
        with folder(workspace, parts[:-1]) as parent:
            self.parent = os.dup(parent)
        self.handle: Handle | None = None
        try:
            self._check_target()
            with _translated(self.path):
                fd = os.open(self.temp, _CREATE, 0o600, dir_fd=self.parent)
                self.handle = Handle(fd)
                _own(fd, workspace, FILE_MODE)
        except BaseException:
            self.abort()
            raise

    def _check_target(self) -> None:
        """Refuse early what the end would refuse anyway, before the body is received."""
        info = _lstat(self.parent, self.name)
        if info is None:
            return
        if not self.overwrite:
            raise AlreadyExists(self.path, ": upload with overwrite=true to replace it")
        if stat.S_ISDIR(info.st_mode):
            raise IsAFolder(self.path)

    def write(self, data: bytes) -> None:
        """Append data to the temporary file."""
        assert self.handle is not None
        with _translated(self.path):
            self.handle.write(data)

    def finish(self) -> Entry:
        """Put the file in its place (a link there is replaced, never followed) and close."""
        assert self.handle is not None
        self.handle.close()
        with self._lock, _translated(self.path):
            if self.parent < 0:
                raise UploadInterrupted()
            if self.overwrite:
                os.rename(self.temp, self.name, src_dir_fd=self.parent, dst_dir_fd=self.parent)
            else:
                # link() fails if the name was taken meanwhile, where rename() would replace.
                os.link(self.temp, self.name, src_dir_fd=self.parent, dst_dir_fd=self.parent)
                os.unlink(self.temp, dir_fd=self.parent)
            info = os.stat(self.name, dir_fd=self.parent, follow_symlinks=False)
            self._close_parent()
        return Entry.of(self.parts, info)

    def abort(self) -> None:
        """Remove the temporary file and close everything (again is fine)."""
        if self.handle is not None:
            self.handle.close()
        with self._lock:
            if self.parent < 0:
                return
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp, dir_fd=self.parent)
            self._close_parent()

    def _close_parent(self) -> None:
        if self.parent >= 0:
            os.close(self.parent)
            self.parent = -1


async def upload(
    workspace: Workspace,
    path: str,
    body: AsyncIterator[bytes],
    *,
    overwrite: bool = False,
    limit: int = UPLOAD_LIMIT,
    declared: int | None = None,
) -> Entry:
    """Receive body into the file at path; nothing is left behind unless it all arrived.

    declared is the size the client announced (Content-Length), refused before any byte is
    read when it is past limit; the bytes are counted anyway, for bodies that announce nothing.
    """
    parts = parse(path)
    if declared is not None and declared > limit:
        raise UploadTooLarge(limit)
    receiving = await asyncio.to_thread(Upload, workspace, parts, overwrite)
    try:
        received, pending = 0, bytearray()
        async for chunk in body:
            received += len(chunk)
            if received > limit:
                raise UploadTooLarge(limit)
            pending += chunk
            if len(pending) >= CHUNK:
                await asyncio.to_thread(receiving.write, bytes(pending))
                pending.clear()
        if pending:
            await asyncio.to_thread(receiving.write, bytes(pending))
        return await asyncio.to_thread(receiving.finish)
    except BaseException:
        # Here, not in a thread: a cancelled request must still remove its temporary file.
        receiving.abort()
        raise
