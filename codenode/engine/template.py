"""A warm engine template: ``python -m codenode.engine --template-fd N [--preload MODULES]``.

A backend starts the template exactly as it would start an engine of the type (bin, args, env,
working directory), with ``--template-fd`` instead of ``--fd``. The template imports the engine,
the modules to preload and the type's transform, says ready on its control socket (a
SOCK_SEQPACKET socket: one JSON object per packet) and waits. It never runs user code.

For ``{"op": "spare"}`` it forks a spare child and passes the backend a line to it; a
``{"op": "fork", "id": ID, "rlimits"?: {NAME: [SOFT, HARD]}, "cgroups"?: N, "workspace"?: KEY,
"uid"?: UID, "gid"?: GID}`` packet, which carries the engine's socket, the write end of its
stderr pipe and N cgroup membership files as SCM_RIGHTS, goes down
that line, or to the template, which forks for it and answers ``{"type": "forked", "id",
"pid"}``. The child becomes an ordinary engine on that socket: its own session and process
group, default signal handlers, no descriptor but 0, 1, 2 and its socket, the type's limits,
fresh random seeds and a fresh namespace. The template reaps its children and reports each end
as ``{"type": "exited", "pid", "exit_code"}`` or ``{..., "signal"}``. When its control socket
closes it exits; the engines it forked live on until their own sockets
close. See docs/engine-protocol.md and docs/templates.md.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import signal
import sys

# The C module, as in startup.py: socket.py costs start time.
from _socket import AF_UNIX, CMSG_SPACE, SCM_RIGHTS, SOCK_SEQPACKET, SOL_SOCKET, socket, socketpair

from codenode.engine.startup import serve_engine, startup_namespace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

ENGINE_FD = 3  # where a forked engine finds its socket
FAILED_START = 70  # a forked engine's exit code when it could not apply its limits
MAX_FDS = 6  # per fork request: the engine's socket, its stderr, and up to 4 cgroups to join


def preload(names: List[str]) -> Dict[str, str]:
    """Import each module; the ones that failed, with why (the template still serves)."""
    import importlib

    failed: Dict[str, str] = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken preload must not stop the type from working
            failed[name] = "%s: %s" % (type(exc).__name__, exc)
    return failed


def warm_up(options: Dict[str, Any]) -> None:
    """One throwaway evaluation of the engine's own, not user code, by the type's interpreter:
    what an engine's first evaluation would import lazily (ast, for one; IPython's machinery)
    is loaded once, here, for every engine; so is the check of requests, compiled from their
    definitions."""
    from codenode.engine.interpreter import Interpreter
    from codenode.engine.startup import load_interpreter
    from codenode.protocol import engine as wire

    (load_interpreter(options.get("interpreter", "")) or Interpreter)().evaluate("None")
    wire.REQUESTS.compile()


def thread_count() -> int:
    """Threads of this process (a fork is only safe with one)."""
    return len(os.listdir("/proc/self/task"))


def settle_threads() -> int:
    """Let libraries that end their threads at fork do it now; the threads left after that.

    OpenBLAS (numpy's) starts worker threads when loaded and stops them in a fork handler,
    starting them again only when next used: after one throwaway fork the template, which
    never calls them, stays single-threaded.
    """
    if thread_count() > 1:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return thread_count()


def send(control: socket, message: Dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


def reap(control: socket, sandboxed: bool = False) -> None:
    """Report every child that ended (sandboxed: children are inits, which tell their
    engine's signal in their exit code)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        report: Dict[str, Any] = {"type": "exited", "pid": pid}
        if os.WIFSIGNALED(status):
            report["signal"] = os.WTERMSIG(status)
        elif sandboxed and os.WEXITSTATUS(status) > 128:
            report["signal"] = os.WEXITSTATUS(status) - 128
        else:
            report["exit_code"] = os.WEXITSTATUS(status)
        send(control, report)


def reseed() -> None:
    """Fresh random seeds for generators that would otherwise repeat the template's sequence.

    The random module reseeds itself in a forked child (os.register_at_fork); numpy's global
    generator and Sage's do not.
    """
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    randstate = sys.modules.get("sage.misc.randstate")
    if randstate is not None:
        randstate.set_random_seed()


def join_cgroup(members: int) -> None:
    """Move this process, single-threaded still, into a cgroup: members is its ``tasks`` file
    on cgroup v1 (moving one thread skips an RCU grace period of 10-20 ms), else its
    ``cgroup.procs``, opened by the backend (a sandbox shows no /sys/fs/cgroup)."""
    try:
        os.write(members, b"0")
    finally:
        os.close(members)


def fail(message: str) -> None:
    os.write(2, ("codenode engine: %s\n" % message).encode())
    os._exit(FAILED_START)


def shed_template(control: socket, keep: int) -> None:
    """In a fresh child: drop what is the template's (handlers, descriptors but 0-2 and keep)."""
    # First: the template's wakeup pipe must never receive this process's signals.
    signal.set_wakeup_fd(-1)
    # As in a freshly started Python (which ignores SIGPIPE and turns SIGINT into
    # KeyboardInterrupt): the template's own handlers go.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    control.close()
    os.closerange(3, keep)
    os.closerange(keep + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    # Nor the template's stderr: the backend waits for it to close when the template dies.
    # An engine gets its own; a spare that fails before it is one tells through its exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def wait_as_spare(control: socket, conn: socket, options: Dict[str, Any]) -> None:
    """In a spare child: wait for a fork request, then become that engine. Never returns.

    In a sandbox, the spare is PID 1 of its own PID namespace: it forks the engine-to-be at once
    and stays as the namespace's init; the engine-to-be takes its namespaces of every other
    kind now, ahead of the request (sandbox.isolate), and waits for the request.
    """
    try:
        if options.get("sandbox"):
            from codenode.engine import sandbox

            os.setsid()  # the engine's process group, which the backend signals, is the init's
            # At once: whatever this process runs after the fork costs every engine the memory
            # it writes (copy-on-write); the engine-to-be makes the namespaces itself.
            engine = os.fork()
            if engine != 0:  # this process: the namespace's init; the child: the engine-to-be
                sandbox.serve_as_init(engine)
        shed_template(control, conn.fileno())
        if options.get("sandbox"):
            sandbox.isolate(options["sandbox"])
        # Copy-on-write faults on what an engine's start touches, taken while nobody waits;
        # and the type's startup code run ahead (Sage's takes ~20 ms).
        warm_up(options)
        namespace, problem = None, ""
        try:
            namespace = startup_namespace(options)
        except Exception:  # told on the engine's own stderr, once it has one
            import traceback

            problem = traceback.format_exc()
        received = receive(conn)
        if received is None:  # the template is gone, and with it the need for a spare
            os._exit(0)
        data, fds = received
        conn.close()
        become_engine(fds, json.loads(data.decode()), options, namespace, problem)
    except BaseException as exc:  # nothing of the template's loop may run in the child
        try:
            fail("%s: %s" % (type(exc).__name__, exc))
        finally:
            os._exit(FAILED_START)
    os._exit(0)


def become_engine(
    fds: List[int],
    request: Dict[str, Any],
    options: Dict[str, Any],
    namespace: Optional[Dict[str, Any]],
    problem: str,
) -> None:
    """Take the engine's socket and stderr, join its cgroups, apply its limits, serve."""
    if not options.get("sandbox"):  # in a sandbox, its init leads the session already
        os.setsid()
    engine_fd, stderr_fd, members = fds[0], fds[1], fds[2:]
    os.dup2(stderr_fd, 2)
    if problem:
        fail("the startup code failed:\n" + problem)
    for fd in members:
        try:
            join_cgroup(fd)
        except OSError as exc:
            fail("cannot join a cgroup: %s" % exc)
    if engine_fd != ENGINE_FD:
        os.dup2(engine_fd, ENGINE_FD, inheritable=False)
    os.closerange(ENGINE_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    for name, (soft, hard) in sorted((request.get("rlimits") or {}).items()):
        try:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        except (AttributeError, ValueError, OSError) as exc:
            fail("cannot apply limit %s=%s: %s" % (name, (soft, hard), exc))
    if options.get("sandbox"):
        from codenode.engine import sandbox

        try:
            sandbox.take_workspace(str(request.get("workspace", "")))
            sandbox.drop_privileges(request.get("uid"), request.get("gid"))
        except OSError as exc:
            fail("cannot enter the sandbox: %s" % exc)
    reseed()
    serve_engine(ENGINE_FD, options, namespace)


def receive(conn: socket) -> Any:
    """One packet and the descriptors it carries; None when the other end is gone."""
    data, ancdata, _flags, _address = conn.recvmsg(65536, CMSG_SPACE(4 * MAX_FDS))
    if not data:
        return None
    fds: List[int] = []
    for level, kind, payload in ancdata:
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds += [int.from_bytes(payload[i : i + 4], sys.byteorder) for i in range(0, usable, 4)]
    return data, fds


def fork_spare(control: socket, options: Dict[str, Any]) -> Tuple[int, socket]:
    """A child forked ahead of the next request: the fork's own cost (page tables, the first
    copy-on-write faults) is paid between requests, not while a user waits.

    In a sandbox the child is born PID 1 of a PID namespace of its own; the template itself
    stays in its own (and goes back to making children there).
    """
    ours, theirs = socketpair(AF_UNIX, SOCK_SEQPACKET)
    own_pids = options.get("own-pid-namespace")
    if own_pids is not None:
        from codenode.engine import sandbox

        sandbox.unshare(sandbox.CLONE_NEWPID)
    pid = os.fork()
    if pid == 0:
        ours.close()
        wait_as_spare(control, theirs, options)
    if own_pids is not None:
        _back_to(own_pids)
    theirs.close()
    return pid, ours


def _back_to(fd: int) -> None:
    """setns(fd, CLONE_NEWPID), by ctypes: os.setns is Python 3.12's."""
    from codenode.engine import sandbox

    sandbox._call(sandbox._libc.setns(fd, sandbox.CLONE_NEWPID), "setns")


def hand_over(line: socket, data: bytes, fds: List[int]) -> bool:
    """Pass a fork request to a spare over its line; False if the spare is gone."""
    rights = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
    try:
        line.sendmsg([data], [(SOL_SOCKET, SCM_RIGHTS, rights)])
        return True
    except OSError:
        return False
    finally:
        line.close()


def serve(control: socket, options: Dict[str, Any], wakeup: int) -> None:
    """Fork on request until the control socket closes.

    ``{"op": "spare"}``: fork a spare and pass the backend its line, with ``{"type": "spare",
    "pid"}``; the backend sends its next fork request straight to the spare, one process hop
    less. ``{"op": "fork", ...}`` with the engine's descriptors: a fresh child takes it here.
    """
    while True:
        reap(control, bool(options.get("sandbox")))
        readable, _, _ = select.select([control.fileno(), wakeup], [], [])
        if wakeup in readable:
            while True:  # drain: the signals only say "look again"
                try:
                    if not os.read(wakeup, 512):
                        break
                except BlockingIOError:
                    break
        if control.fileno() not in readable:
            continue
        received = receive(control)
        if received is None:  # the backend is gone: so is the template (engines keep theirs)
            return
        data, fds = received
        try:
            request = json.loads(data.decode())
        except ValueError:
            request = None
        op = request.get("op") if isinstance(request, dict) else None
        cgroups = request.get("cgroups", 0) if isinstance(request, dict) else 0
        wanted = None
        if op in ("spare", "fork") and isinstance(cgroups, int):
            wanted = 2 + cgroups if op == "fork" else 0
        problem, threads = "", thread_count()
        if wanted is None or len(fds) != wanted:
            problem = "expected a spare request, or a fork request with 2 fds and its cgroups'"
        elif threads != 1:
            problem = "the template runs %d threads: forking it would not be safe" % threads
        if problem:
            for fd in fds:
                os.close(fd)
            request_id = request.get("id") if isinstance(request, dict) else None
            send(control, {"type": "error", "id": request_id, "message": problem})
            continue
        pid, line = fork_spare(control, options)
        if op == "spare":
            rights = line.fileno().to_bytes(4, sys.byteorder)
            message = json.dumps({"type": "spare", "pid": pid}).encode()
            control.sendmsg([message], [(SOL_SOCKET, SCM_RIGHTS, rights)])
            line.close()
            continue
        hand_over(line, data, fds)
        for fd in fds:
            os.close(fd)
        send(control, {"type": "forked", "id": request.get("id"), "pid": pid})


def serve_template(options: Dict[str, Any]) -> None:
    """Preload, say ready, fork engines on request; exit when the control socket closes."""
    names = [name for name in options["preload"].split(",") if name]
    for spec in (options["transform"], options["interpreter"]):
        module = spec.partition(":")[0]
        if module and module not in names:
            names.append(module)  # the engines' transform and interpreter, loaded once here
    failed = preload(names)
    warm_up(options)
    # Objects that exist now are never collected in the engines: their GC headers stay shared
    # pages instead of being written by every child's first collection.
    gc.collect()
    gc.freeze()
    threads = settle_threads()
    control = socket(fileno=options["template-fd"])
    if os.environ.get("CODENODE_SANDBOX"):  # started in its type's view by sandbox.py
        from codenode.engine import sandbox

        options["sandbox"] = sandbox.spec_from_environment()
        options["own-pid-namespace"] = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # a handler, so the fd is written
    signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
    ready = {
        "type": "ready",
        "pid": os.getpid(),
        "preloaded": [name for name in names if name not in failed],
        "failed": failed,
        "threads": threads,
    }
    send(control, ready)
    serve(control, options, wake_read)
