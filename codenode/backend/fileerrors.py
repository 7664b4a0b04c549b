"""The errors of the workspace file routes (files.py), each a BackendError with its status:

FileError                (422)
├── BadPath              422: absolute, '..', NUL, too long, or not text
├── NoSuchFile           404
├── AlreadyExists        409
├── IsALink              422: a symbolic link where a file or folder must be
├── NotAFolder           422
├── IsAFolder            422
├── NotAFile             422: a pipe, socket or device
├── TopOfWorkspace       422: the workspace itself cannot be renamed, deleted or downloaded
├── Forbidden            403: the permissions say no (or, as root, would say no to the engine)
├── UploadTooLarge       413
├── UploadInterrupted    400: the client went away before the end of the body
└── NoSpace              507
"""

from __future__ import annotations

from codenode.backend.errors import BackendError


class FileError(BackendError):
    """Base of the errors of workspace files."""

    code, status = "file_error", 422


class BadPath(FileError):
    """A path that cannot name a place inside a workspace."""

    code, status = "bad_path", 422


class NoSuchFile(FileError):
    """Nothing at that path."""

    code, status = "no_such_file", 404

    def __init__(self, path: str) -> None:
        super().__init__(f"nothing at {path!r} in this workspace")


class AlreadyExists(FileError):
    """Something is at that path already."""

    code, status = "already_exists", 409

    def __init__(self, path: str, hint: str = "") -> None:
        super().__init__(f"{path!r} exists already{hint}")


class IsALink(FileError):
    """A symbolic link where a file or folder must be; links are never followed."""

    code, status = "is_a_link", 422

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path!r} is a link: links are never followed here (rename or delete the link itself)"
        )


class NotAFolder(FileError):
    """A file where a folder must be."""

    code, status = "not_a_folder", 422

    def __init__(self, path: str) -> None:
        super().__init__(f"{path!r} is not a folder")


class IsAFolder(FileError):
    """A folder where a file must be."""

    code, status = "is_a_folder", 422

    def __init__(self, path: str) -> None:
        super().__init__(f"{path!r} is a folder")


class NotAFile(FileError):
    """A pipe, socket or device: nothing to download."""

    code, status = "not_a_file", 422

    def __init__(self, path: str) -> None:
        super().__init__(f"{path!r} is not a regular file (a pipe, socket or device)")


class TopOfWorkspace(FileError):
    """The workspace folder itself was named where only something inside it may be."""

    code, status = "top_of_workspace", 422

    def __init__(self, action: str) -> None:
        super().__init__(f"the workspace's top folder cannot be {action}: name something in it")


class Forbidden(FileError):
    """The permissions forbid it (as root: would forbid the workspace's own engines)."""

    code, status = "permission_denied", 403

    def __init__(self, path: str, why: str = "permission denied") -> None:
        super().__init__(f"{path!r}: {why}")


class UploadTooLarge(FileError):
    """A body past the backend's cap on one upload."""

    code, status = "upload_too_large", 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"uploads are limited to {limit} bytes on this backend; nothing was kept")


class UploadInterrupted(FileError):
    """The client went away before the end of the body; nothing was kept."""

    code, status = "upload_interrupted", 400

    def __init__(self) -> None:
        super().__init__("the upload ended before its body did; nothing was kept")


class NoSpace(FileError):
    """The disk (or the workspace's quota) is full."""

    code, status = "no_space", 507

    def __init__(self, path: str, limit: int | None = None) -> None:
        self.path = path
        if limit is None:
            super().__init__(f"no space left for {path!r}: delete something and try again")
        else:
            super().__init__(
                f"the workspace is full (its size limit is {limit / (1 << 20):.0f} MiB):"
                f" {path!r} was not written; delete something and try again"
            )
