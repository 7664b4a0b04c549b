"""Workspace images: a workspace's size limit, as a file system of that size.

An engine type that declares ``limits.workspace_mb`` works in a workspace that is an ext4 file
system in a sparse file, ``<root>/.images/<key>.ext4``, loop-mounted on ``<root>/<key>``.
Writing past the limit fails in the engine as a full disk does (ENOSPC), file uploads as
well, and nothing else on the machine fills up. A sparse image costs only what it holds.

The mounts live in the backend's own mount namespace (enter_own_mount_namespace, at its
start): the kernel unmounts them when the backend and its engines are gone, however they
ended, and the loop devices go with them. The workspaces' root is a shared mount there, so that
an image mounted after a template built its view still reaches the template and its spares.

A workspace has one size: a type with a larger limit grows the image, at an engine start when
no other engine uses the workspace (ext4 is grown unmounted); one with a smaller limit uses
it as it is. Files a workspace held before it got an image are moved into
it, and the image is made large enough to hold them (nothing a user wrote is lost).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from codenode.backend.errors import BackendError
from codenode.engine import sandbox as kernel

log = logging.getLogger("codenode.backend")
IMAGES = ".images"
MIB = 1 << 20
# nosuid, nodev: as every workspace; noinit_itable: the kernel need not zero what reads as zeros.
MOUNT_OPTIONS = "loop,nosuid,nodev,noinit_itable"
SLACK_MB = 16  # room beyond moved-in files, so that their workspace is not full at once


class WorkspaceImageError(BackendError):
    """A workspace image that could not be made, grown or mounted."""

    code, status = "workspace_image_failed", 500


def enter_own_mount_namespace() -> bool:
    """Give this process (not yet threaded) a mount namespace of its own; False if it cannot
    (not root, or no mount namespaces here): workspace limits are then not enforced."""
    if os.geteuid() != 0:
        return False
    try:
        kernel.unshare(kernel.CLONE_NEWNS)
        # Slave: the host's later mounts still show here; nothing mounted here goes out.
        kernel.mount("none", "/", flags=kernel.MS_REC | kernel.MS_SLAVE)
    except OSError as exc:
        log.warning("no mount namespace of its own (%s): workspace limits are off", exc)
        return False
    return True


def share_root(root: Path) -> None:
    """Make the workspaces' root a shared mount (a bind onto itself), once."""
    if not os.path.ismount(root):
        kernel.mount(str(root), str(root), flags=kernel.MS_BIND)
    kernel.mount("none", str(root), flags=kernel.MS_SHARED)


class WorkspaceInUse(BackendError):
    """A limited workspace that another backend (sharing this root) has mounted."""

    code, status = "workspace_in_use", 409

    def __init__(self, key: str) -> None:
        super().__init__(
            f"workspace {key!r} is in use by another backend that shares this workspace root:"
            " a workspace with a size limit is mounted by one backend at a time"
        )


class Images:
    """The images of one workspaces' root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / IMAGES
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._claims: dict[str, int] = {}  # key: its lock file, held while this backend runs

    def limit(self, key: str, uid: int, gid: int, size_mb: int) -> None:
        """Make workspace key a file system of at least size_mb, mounted (blocking; threads)."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            try:
                self._limit(key, uid, gid, size_mb)
            except (OSError, subprocess.CalledProcessError) as exc:
                detail = getattr(exc, "stderr", "") or exc
                raise WorkspaceImageError(
                    f"workspace {key!r} could not get its {size_mb} MiB image: {detail}"
                ) from exc

    def close(self) -> None:
        """Let go of every workspace this backend holds (its lock files)."""
        for fd in self._claims.values():
            os.close(fd)
        self._claims.clear()

    def usage(self, key: str) -> tuple[int, int] | None:
        """Bytes used and the limit, for a workspace that has an image; else None. Used
        counts the file system's own overhead too: a full workspace is at its limit."""
        path, image = self.root / key, self.folder / f"{key}.ext4"
        if not os.path.ismount(path):
            return None
        stats, limit = os.statvfs(path), image.stat().st_size
        return limit - stats.f_bavail * stats.f_frsize, limit

    def _claim(self, key: str) -> None:
        """Hold the workspace's lock file from now on. Backends that share a workspace root
        (a network file system) must never both mount one image: two kernels writing one
        ext4 corrupt it. The lock goes with the backend's process, however it ends."""
        if key in self._claims:
            return
        fd = os.open(self.folder / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise WorkspaceInUse(key) from None
        self._claims[key] = fd

    def _limit(self, key: str, uid: int, gid: int, size_mb: int) -> None:
        path, image = self.root / key, self.folder / f"{key}.ext4"
        self.folder.mkdir(mode=0o700, exist_ok=True)
        self._claim(key)
        if not image.exists():
            self._make(path, image, uid, gid, size_mb)
        if not os.path.ismount(path):
            _run("mount", "-o", MOUNT_OPTIONS, str(image), str(path))
        if image.stat().st_size < size_mb * MIB:
            self._grow(path, image, size_mb)

    def _make(self, path: Path, image: Path, uid: int, gid: int, size_mb: int) -> None:
        """A new image, holding what the folder held (moved in, not copied)."""
        held = _bytes_under(path)
        if held:  # files past the limit still move in: the workspace is full, nothing lost
            size_mb = max(size_mb, held * 12 // 10 // MIB + SLACK_MB)
        fresh = image.with_name(f".{image.name}.new")
        fresh.unlink(missing_ok=True)
        with open(fresh, "wb") as blank:
            blank.truncate(size_mb * MIB)
        # A sparse file reads as zeros: the inode tables and the journal need no zeroing
        # (lazy_*), and an empty 10 GiB image takes ~4 MiB of disk rather than ~70.
        extended = f"root_owner={uid}:{gid},lazy_itable_init=1,lazy_journal_init=1"
        _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", extended, str(fresh))
        staging = self.folder / f".{image.name}.mnt"
        staging.mkdir(exist_ok=True)
        _run("mount", "-o", MOUNT_OPTIONS, str(fresh), str(staging))
        try:
            (staging / "lost+found").rmdir()  # e2fsck makes it again if ever needed
            os.chmod(staging, 0o700)
            if held or any(path.iterdir()):
                # cp -a keeps owners, modes, times and links as they are.
                _run("cp", "-a", "--", f"{path}/.", f"{staging}/")
        finally:
            _run("umount", str(staging))
            staging.rmdir()
        os.rename(fresh, image)
        for entry in path.iterdir():  # only now: the image holds all of it
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        if held:
            log.info("workspace %s: %d bytes moved into its image", path.name, held)

    def _grow(self, path: Path, image: Path, size_mb: int) -> None:
        """Grow an image to size_mb, unmounted: ext4 grows online only with CAP_SYS_RESOURCE,
        which a container's root may lack. If anything still holds the file system (an engine
        in another namespace), it stays as it is, mounted again, until the next start."""
        _run("umount", str(path))  # here; the copies in templates' views go with it
        if _attached(image):
            _run("mount", "-o", MOUNT_OPTIONS, str(image), str(path))
            log.info("workspace %s grows to %d MiB once no engine uses it", path.name, size_mb)
            return
        try:
            check = subprocess.run(
                ["e2fsck", "-f", "-p", str(image)], capture_output=True, text=True, timeout=600
            )
            if check.returncode > 1:  # 1: errors corrected; more: not safe to resize
                raise OSError(f"e2fsck says {check.returncode}: {check.stdout}{check.stderr}")
            with open(image, "r+b") as file:
                file.truncate(size_mb * MIB)
            _run("resize2fs", str(image))
        finally:
            _run("mount", "-o", MOUNT_OPTIONS, str(image), str(path))
        log.info("workspace %s: its image grew to %d MiB", path.name, size_mb)


def _bytes_under(path: Path) -> int:
    """What a folder's files take, by their sizes (links not followed)."""
    total = 0
    for folder, _folders, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def _attached(image: Path, wait: float = 1.0) -> bool:
    """Whether a loop device still holds the image, after up to wait seconds for the kernel
    to let go of one whose last mount went (autoclear)."""
    deadline = time.monotonic() + wait
    while True:
        found = subprocess.run(
            ["losetup", "-j", str(image)], capture_output=True, text=True, timeout=60
        ).stdout
        if not found.strip() or time.monotonic() > deadline:
            return bool(found.strip())
        time.sleep(0.02)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
