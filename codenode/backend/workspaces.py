"""Workspaces: the folders engines keep their files in, one per opaque key.

The backend knows no users: a frontend names a workspace key when it starts an engine (one per
user, say) and the backend maps it to a folder of its own, ``<root>/<key>``. Files written there
survive the engine and are there for the next engine of the same key; no other key's engine
can see them (sandbox.py mounts only its own folder).

When the backend runs as root, each workspace gets its own Unix identity from a range, and
the folder belongs to it: the folder's owner *is* the record of which uid a key has, so nothing
else needs keeping. As an ordinary user, every workspace belongs to the backend's own user and
the engines' user namespace gives them an identity of their own inside.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
from dataclasses import dataclass
from pathlib import Path

from codenode.backend.errors import BackendError
from codenode.backend.images import Images, share_root

log = logging.getLogger("codenode.backend")

# One path component, never hidden, never "." or "..".
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DEFAULT_UIDS = range(2_000_000, 3_000_000)  # far above any account a distribution makes


class BadWorkspaceKey(BackendError):
    """A workspace key that cannot name a folder."""

    code, status = "bad_workspace_key", 422

    def __init__(self, key: object) -> None:
        super().__init__(
            f"workspace key {key!r} must be 1-64 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit"
        )


class NoIdentityLeft(BackendError):
    """Every uid of the configured range is taken."""

    code, status = "no_identity_left", 503


@dataclass(frozen=True)
class Workspace:
    """One workspace: its key, its folder, and the identity its engines run as."""

    key: str
    path: Path
    uid: int
    gid: int


def uid_range(text: str) -> range:
    """FIRST-LAST as a range of uids; SystemExit with the reason for anything else."""
    first, _, last = text.partition("-")
    try:
        uids = range(int(first), int(last) + 1)
    except ValueError:
        raise SystemExit(f"--workspace-uids takes FIRST-LAST, not {text!r}") from None
    if not uids or uids.start < 1000:
        raise SystemExit("--workspace-uids must be a non-empty range above the system's uids")
    return uids


def check_key(key: object) -> str:
    """The key, if it can name a folder; BadWorkspaceKey otherwise."""
    if not isinstance(key, str) or KEY.fullmatch(key) is None:
        raise BadWorkspaceKey(key)
    return key


class Workspaces:
    """The backend's workspace folders under one root."""

    def __init__(self, root: Path, uids: range = DEFAULT_UIDS, limits: bool = False) -> None:
        """limits: workspace size limits are enforced (images.py), which takes a backend in
        a mount namespace of its own (images.enter_own_mount_namespace); else each is logged
        once, unenforced."""
        self.root = root
        self.uids = uids
        self.as_root = os.geteuid() == 0
        self._by_key: dict[str, Workspace] = {}
        self._taken: set[int] = set()
        self._scanned = False
        self.images: Images | None = None
        if limits:
            root.mkdir(parents=True, exist_ok=True, mode=0o711)
            share_root(root)
            self.images = Images(root)
        self._unenforced: set[str] = set()

    def limit(self, workspace: Workspace, size_mb: int, why: str) -> None:
        """Give a workspace a size of at least size_mb (blocking: call it in a thread).

        why names who asks (an engine type), for the log where limits are not enforced.
        """
        if self.images is None:
            if why not in self._unenforced:
                self._unenforced.add(why)
                log.warning(
                    "%s: workspace_mb=%d is not enforced: workspace limits need a backend"
                    " run as root by `codenode backend`",
                    why,
                    size_mb,
                )
            return
        self.images.limit(workspace.key, workspace.uid, workspace.gid, size_mb)

    def usage(self, workspace: Workspace) -> tuple[int, int] | None:
        """Bytes used and bytes in all of a workspace that has a size limit; else None."""
        return None if self.images is None else self.images.usage(workspace.key)

    def get(self, key: str) -> Workspace:
        """The workspace of a key, made on first use (folder, and identity when root)."""
        check_key(key)
        known = self._by_key.get(key)
        if known is not None and known.path.is_dir():
            return known
        self._scan()
        path = self.root / key
        try:
            info = path.lstat()
        except FileNotFoundError:
            info = None
        if info is None:
            uid = self._free_uid() if self.as_root else os.geteuid()
            path.mkdir(mode=0o700)
            if self.as_root:
                os.chown(path, uid, uid)
            info = path.lstat()
        if not path.is_dir() or path.is_symlink():
            raise BackendError(f"workspace {key!r} is not a folder on this backend")
        workspace = Workspace(key, path, info.st_uid, info.st_gid)
        self._by_key[key] = workspace
        self._taken.add(info.st_uid)
        return workspace

    def _scan(self) -> None:
        """Learn the identities that folders made by earlier runs hold."""
        if self._scanned:
            return
        self.root.mkdir(parents=True, exist_ok=True, mode=0o711)
        for entry in os.scandir(self.root):
            self._taken.add(entry.stat(follow_symlinks=False).st_uid)
        self._scanned = True

    def _free_uid(self) -> int:
        for uid in self.uids:
            if uid not in self._taken and not _is_account(uid):
                return uid
        raise NoIdentityLeft(
            f"all {len(self.uids)} workspace identities are taken: widen --workspace-uids"
        )


def _is_account(uid: int) -> bool:
    """Whether uid belongs to an account of this machine (never hand one of those out)."""
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True
