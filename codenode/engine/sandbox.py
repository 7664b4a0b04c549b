"""The sandbox an engine runs in, made with the kernel's namespaces (standard library only).

A backend describes the sandbox of an engine type in the environment variable CODENODE_SANDBOX
(JSON, see docs/security.md); this module makes it, in three steps:

1. ``build_view``: a mount namespace whose root is an empty read-only tmpfs holding only the
   system (``/usr``, ``/etc``, ...) and the engine's runtime (interpreter, site-packages, the
   codenode package, the type's files), each bound read-only; the type's extra mounts; a minimal
   ``/dev``; a ``/proc``. Codenode's own files (the environment folder, plug-ins, tokens, the
   database) are not in it, nor other users' homes. A template runs in this view.
2. ``isolate``: in a process that is PID 1 of a fresh PID namespace (its parent called
   ``unshare(CLONE_NEWPID)`` before forking it): its own copy of the view, a ``/proc`` showing
   only its own processes, a private ``/tmp`` and ``/dev/shm``, its own IPC and host name, and
   with ``network="none"`` no network but loopback. That process stays the namespace's init
   (``serve_as_init``) and forks the engine. A template's spare does all this ahead of time.
3. ``take_workspace`` and ``drop_privileges``: the workspace folder mounted read-write at
   ``/workspace`` (home and working directory), then the workspace's own unprivileged identity
   and ``no_new_privs``. This is the only step on the path of a user's fork request.

Run as ``python -I -S sandbox.py -- ARGV...`` it is the launcher of exec'd engines and of
templates: it makes the sandbox and executes ARGV inside it.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, NoReturn, Optional

    Spec = Dict[str, Any]

ENVIRONMENT = "CODENODE_SANDBOX"
WORKSPACE = "/workspace"  # where an engine finds its workspace: its home and working directory
WORKSPACES = "/.workspaces"  # where a template sees every workspace, to mount one per engine
HELD = "/.held"  # mount points to keep what the view shows inside /tmp while /tmp is replaced
INNER_ID = 1000  # an engine's identity inside its user namespace (backends not run as root)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_MOVE = 1 << 18, 1 << 19, 1 << 20, 8192
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}
# statvfs flags whose mount flags a bind mount must keep (the kernel locks them in a user
# namespace): the ST_ value and the MS_ value differ for relatime.
KEPT_FLAGS = ((2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME),
              (2048, MS_NODIRATIME), (4096, MS_RELATIME))  # fmt: skip
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(OSError):
    """A step of making the sandbox failed; the message names the step."""


def _call(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise SandboxError(errno, "%s: %s" % (what, os.strerror(errno)))


def unshare(flags: int) -> None:
    """Leave the namespaces named by flags for new ones of this process's own."""
    _call(_libc.unshare(flags), "unshare")


def mount(source: str, target: str, fstype: str = "", flags: int = 0, data: str = "") -> None:
    """mount(2); an fstype or data of '' is passed as NULL."""
    _call(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() or None,
            ctypes.c_ulong(flags),
            data.encode() or None,
        ),
        "mount %s on %s" % (source, target),
    )


def unmount(target: str) -> None:
    """Detach a mount (lazily: nothing that still uses it keeps it attached for us)."""
    _call(_libc.umount2(target.encode(), MNT_DETACH), "unmount " + target)


def _mountpoint(source: str, target: str) -> None:
    """Make target, if missing, a folder or a file as source is."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))


def shown_paths(spec: Spec) -> List[str]:
    """The system and runtime paths the view shows, outermost only, shortest first."""
    shown: List[str] = []
    for path in sorted(set(SYSTEM) | set(spec.get("readonly", ())), key=len):
        if os.path.exists(path) and not _inside(path, shown):
            shown.append(path)
    return shown


def held_paths(spec: Spec) -> List[str]:
    """What the view shows inside /tmp, which each engine's private /tmp would cover."""
    return [path for path in shown_paths(spec) if path.startswith("/tmp/")]


def _bind(source: str, target: str, writable: bool = False, recursive: bool = False) -> None:
    """Bind source at target (made if missing), read-only unless writable; never setuid.
    Recursive: with what is mounted below source (the flags apply to source's own mount)."""
    _mountpoint(source, target)
    mount(source, target, flags=MS_BIND | (MS_REC if recursive else 0))
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (0 if writable else MS_RDONLY)
    kept = os.statvfs(target).f_flag
    for statvfs_flag, mount_flag in KEPT_FLAGS:
        if kept & statvfs_flag:
            flags |= mount_flag
    mount("none", target, flags=flags)


def _inside(path: str, folders: List[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in folders)


def _make_dev(dev: str) -> None:
    """A /dev with the harmless devices only (no disks, no /dev/mem, no other ttys)."""
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k")
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            _bind("/dev/" + name, dev + "/" + name, writable=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, dev + "/" + name)
    os.mkdir(dev + "/shm")
    mount("none", dev, flags=MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)


def _map_identity(outer_uid: int, outer_gid: int, inner: int) -> None:
    """Right after unshare(CLONE_NEWUSER): be `inner` here, `outer` in the parent namespace."""
    with open("/proc/self/setgroups", "w") as setgroups:
        setgroups.write("deny")
    with open("/proc/self/uid_map", "w") as uid_map:
        uid_map.write("%d %d 1" % (inner, outer_uid))
    with open("/proc/self/gid_map", "w") as gid_map:
        gid_map.write("%d %d 1" % (inner, outer_gid))


def build_view(spec: Spec, workspace: Optional[str] = None) -> None:
    """Enter a new mount namespace whose root is the sandbox's view (step 1).

    With workspace (a folder of the outer file system), it is mounted at /workspace; without,
    the folder of all workspaces (spec["workspaces"]) is at /.workspaces, for a template,
    which gets a small /tmp of its own too (preloads keep caches there).
    """
    if os.geteuid() != 0:  # an ordinary user's backend: a user namespace gives us the rights
        uid, gid = os.geteuid(), os.getegid()
        unshare(CLONE_NEWUSER | CLONE_NEWNS)
        _map_identity(uid, gid, 0)
    else:
        unshare(CLONE_NEWNS)
    # Nothing done here reaches the host; what the backend mounts later on the workspaces'
    # root (a workspace's image: backend/images.py) still reaches a template's view.
    mount("none", "/", flags=MS_REC | MS_SLAVE)
    root = spec["staging"]
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    os.mkdir(root + "/tmp")
    if workspace is None:  # a template's own /tmp, under what the view shows inside /tmp
        mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    shown = shown_paths(spec)
    for path in shown:
        _bind(path, root + path)
    for extra in spec.get("mounts", ()):
        _bind(extra["source"], root + extra["target"], extra.get("writable", False))
    for path in spec.get("hidden", ()):  # Codenode's own folders, where a runtime path holds one
        if _inside(path, shown) and os.path.isdir(root + path):
            mount("tmpfs", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
        elif _inside(path, shown) and os.path.exists(root + path):
            mount("/dev/null", root + path, flags=MS_BIND)
    for folder in ("/proc", "/dev", WORKSPACE, WORKSPACES, HELD):
        os.makedirs(root + folder, exist_ok=True)
    for number, path in enumerate(held_paths(spec)):  # where isolate keeps them a moment
        _mountpoint(path, "%s%s/%d" % (root, HELD, number))
    _make_dev(root + "/dev")
    if workspace is not None:
        _bind(workspace, root + WORKSPACE, writable=True)
    elif spec.get("workspaces"):
        _bind(spec["workspaces"], root + WORKSPACES, writable=True, recursive=True)
    try:
        mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except SandboxError:  # a user namespace may not mount the host's: a template binds it
        if workspace is not None:
            raise
        mount("/proc", root + "/proc", flags=MS_BIND | MS_REC)
    os.mkdir(root + "/.old")
    _call(
        _libc.syscall(SYS_PIVOT_ROOT[os.uname().machine], root.encode(), (root + "/.old").encode()),
        "pivot_root",
    )
    os.chdir("/")
    unmount("/.old")
    os.rmdir("/.old")
    mount("none", "/", flags=MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def isolate(spec: Spec, fresh_proc: bool = True) -> None:
    """As PID 1 of a new PID namespace: a namespace of each kind of its own (step 2)."""
    flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
    if spec.get("network") == "none":
        flags |= CLONE_NEWNET
    unshare(flags)
    if fresh_proc:  # the view's /proc shows the template's processes: this one, only ours
        unmount("/proc")
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    tmp_size = "size=%dm" % spec.get("tmp_mb", 512)
    # What the view shows inside /tmp (a checkout there, say) is held aside, and put back on
    # top of the private /tmp.
    held = held_paths(spec)
    for number, path in enumerate(held):
        mount(path, "%s/%d" % (HELD, number), flags=MS_BIND | MS_REC)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777," + tmp_size)
    for number, path in enumerate(held):
        _mountpoint("%s/%d" % (HELD, number), path)
        mount("%s/%d" % (HELD, number), path, flags=MS_MOVE)
    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777," + tmp_size)
    if spec.get("network") == "none":
        _loopback_up()
    _libc.sethostname(b"engine", 6)


def _loopback_up() -> None:
    """A fresh network namespace has its loopback down: bring it up (localhost works)."""
    import fcntl
    import struct
    from _socket import AF_INET, SOCK_DGRAM, socket

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 1
    sock = socket(AF_INET, SOCK_DGRAM)
    try:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock.fileno(), siocgifflags, request))[1]
        fcntl.ioctl(sock.fileno(), siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))
    finally:
        sock.close()


def take_workspace(key: str) -> None:
    """Mount workspace key of the template's /.workspaces at /workspace; forget the others."""
    if not key or "/" in key or key.startswith("."):
        raise SandboxError(22, "bad workspace key %r" % key)
    mount(WORKSPACES + "/" + key, WORKSPACE, flags=MS_BIND)
    mount("none", WORKSPACE, flags=MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    unmount(WORKSPACES)


def drop_privileges(uid: Optional[int], gid: Optional[int]) -> None:
    """Become the workspace's identity, with no way back (step 3), in /workspace.

    uid None: the backend is an ordinary user, so every engine is that user outside; a user
    namespace of its own makes it INNER_ID inside, without any capability anywhere.
    """
    if uid is None or gid is None:
        unshare(CLONE_NEWUSER)
        _map_identity(0, 0, INNER_ID)  # setgroups is denied there: it has no other group
        uid = gid = INNER_ID
    else:
        os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _call(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    os.chdir(WORKSPACE)
    os.environ["HOME"] = WORKSPACE
    os.environ.pop(ENVIRONMENT, None)


def spec_from_environment() -> Optional[Spec]:
    """The sandbox this process was started for, or None (not sandboxed)."""
    text = os.environ.get(ENVIRONMENT)
    return json.loads(text) if text else None


SIGNALLED = 128  # an init's exit code for "the engine was killed by signal N": 128 + N


def init_status(status: int) -> int:
    """The exit code that tells a wait status through an init (which a signal cannot end)."""
    if os.WIFSIGNALED(status):
        return SIGNALLED + os.WTERMSIG(status)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


def as_signal(code: int) -> int:
    """The signal an init's exit code tells of, or 0 for an ordinary exit code."""
    number = code - SIGNALLED
    return number if 0 < number < 65 else 0


def _mirror(code: int) -> NoReturn:
    """Exit as the engine did (code from its init): with its code, or by its signal."""
    number = as_signal(code)
    if number:
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(code)


def _wait(pid: int) -> int:
    """waitpid(pid), the status."""
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


# init.c, built by make: what serve_as_init and launch_engine do, in a process of a few pages.
INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "codenode-init")


def _exec_init(arguments: List[str]) -> None:
    """Become the C init with these arguments; return only where it was not built."""
    try:
        os.execv(INIT, [INIT, *arguments])
    except OSError:
        pass


def serve_as_init(engine: int) -> NoReturn:
    """As PID 1 of an engine's PID namespace: reap every orphan; end when the engine ends.

    The engine is not PID 1 itself: the kernel spares PID 1 the default action of signals
    (SIGTERM, SIGXCPU at a CPU limit, ...), and an engine must die of those as anywhere else.
    When this process ends, the kernel kills everything left in the namespace.
    """
    signal.set_wakeup_fd(-1)  # a template's, if it forked this process
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine's process group gets them too
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Nothing of its parent's: a template's stderr held open here would keep its backend
    # waiting for the end of that pipe after the template died.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, 65536)
    _exec_init([str(engine)])  # the same loop, in C: a few pages instead of a forked Python
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
        if pid == engine:
            os._exit(init_status(status))


def _join_cgroups(paths: List[str]) -> None:
    for path in paths:
        with open(path, "w") as members:
            members.write("0")


def launch_engine(spec: Spec, argv: List[str]) -> NoReturn:
    """Make the whole sandbox and execute argv in it; wait here and exit as it does.

    Three processes: this one stays outside, so that the backend supervises it as it would the
    engine; an init (PID 1 of the new PID namespace, see serve_as_init); and the engine. The
    backend signals the process group, which the engine is in: it gets SIGINT and SIGTERM
    itself, and the other two ignore them. If either of the others is killed, the engine is too.
    """
    _join_cgroups(spec.get("cgroups", ()))  # before the fork: the engine is born inside
    if os.geteuid() != 0:  # an ordinary user's backend: the rights come with a user namespace
        uid, gid = os.geteuid(), os.getegid()
        unshare(CLONE_NEWUSER)
        _map_identity(uid, gid, 0)
    unshare(CLONE_NEWPID)
    init = os.fork()
    if init == 0:
        try:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            build_view(spec, workspace=spec["workspace"])
            isolate(spec, fresh_proc=False)  # build_view's /proc is this namespace's already
            engine = os.fork()
            if engine == 0:
                drop_privileges(spec.get("uid"), spec.get("gid"))
                # Only now: a change of identity clears the parent-death signal.
                _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                if os.getppid() != 1:  # the init died before that
                    os._exit(70)
                os.execv(argv[0], argv)
        except BaseException as exc:
            os.write(2, ("codenode sandbox: %s\n" % exc).encode())
            os._exit(70)
        serve_as_init(engine)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.closerange(3, 65536)  # the engine's socket must close when the engine ends
    _exec_init(["--mirror", str(init)])
    _mirror(init_status(_wait(init)))


def main(argv: List[str]) -> None:
    """``sandbox.py -- ARGV``: ARGV inside the sandbox that CODENODE_SANDBOX describes."""
    spec = spec_from_environment()
    if spec is None or not argv or argv[0] != "--" or len(argv) < 2:
        raise SystemExit("usage: CODENODE_SANDBOX=SPEC python sandbox.py -- ARGV...")
    command = argv[1:]
    if spec.get("mode") == "template":
        build_view(spec)
        os.execv(command[0], command)
    launch_engine(spec, command)


if __name__ == "__main__":
    main(sys.argv[1:])
