"""The sandbox, attacked from a cell: each thing an engine must not reach, tried for real.

Every test runs against a real backend process, with engines forked from a template and
started by exec alike (the how_engines_start fixture of test_backend.py), as root: each
workspace gets its own uid. docs/security.md is the promise these tests keep.
"""

from __future__ import annotations

import ast
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codenode.backend.sandboxes import codenode_package
from codenode.protocol import engine as wire
from codenode.protocol.evaluation import Evaluation
from tests.backend.conftest import ROOT, TOKEN, Backend, python_plugin, start_backend
from tests.backend.test_backend import declare, how_engines_start
from tests.backend.test_templates import evaluate as run
from tests.backend.test_templates import value

__all__ = ["how_engines_start"]  # the fixture: every test both ways

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="sandboxes are made with Linux namespaces"
)


def start(backend: Backend, workspace: str, type_name: str = "python") -> dict[str, Any]:
    response = backend.http.post("/engines", json={"type": type_name, "workspace": workspace})
    assert response.status_code == 201, response.text
    return dict(response.json())


def refused(backend: Backend, engine_id: str, statement: str) -> str:
    """The exception a statement raises in the engine ('' if it ran)."""
    code = f"try:\n    _ = {statement}\n    print('')\nexcept Exception as e:\n"
    code += "    print(type(e).__name__)\n"
    return str(run(backend, engine_id, code)["out"]).strip()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The backend's environment folder (CODENODE_HOME), with the secrets a frontend keeps."""
    folder = tmp_path / "home"
    folder.mkdir()
    for name, text in (("secret.key", "cookie-secret"), ("backend.token", TOKEN)):
        (folder / name).write_text(text)
    (folder / "codenode.db").write_bytes(b"SQLite format 3\0 password hashes")
    return folder


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder an ordinary user can reach (pytest's own are closed to others)."""
    # Not in /tmp: every sandbox has a private /tmp over it.
    folder = Path(tempfile.mkdtemp(prefix="codenode-test-", dir="/var/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_codenode_files_are_not_there(backend: Backend, home: Path, tmp_path: Path) -> None:
    engine = start(backend, "mallory")
    for path in (
        home / "secret.key",
        home / "backend.token",
        home / "codenode.db",
        tmp_path / "workspaces",
        backend.plugins / "python.py",
        tmp_path / "backend.log",
    ):
        assert refused(backend, engine["id"], f"open({str(path)!r}).read()") in (
            "FileNotFoundError",
            "PermissionError",
        ), path
    listing = value(backend, engine["id"], "__import__('os').listdir('/')")
    system = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc"}
    sandbox = {"proc", "tmp", "dev", "workspace", ".workspaces", ".held"}
    # Where this Python and this checkout are (CI clones it anywhere): their top folders only.
    runtime = {
        Path(folder).parts[1]
        for folder in (codenode_package(), sys.prefix, os.path.realpath(sys.executable))
    }
    assert set(listing) <= system | sandbox | runtime, listing
    # What a runtime path in /root brings is that path only: no .codenode, no .ssh.
    if "root" in listing:
        assert "/root/.codenode" not in str(
            value(backend, engine["id"], "__import__('os').listdir('/root')")
        )
    # The token is in no environment: not its own, not readable from any process.
    environ = value(backend, engine["id"], "dict(__import__('os').environ)")
    assert TOKEN not in json.dumps(environ) and "CODENODE_SANDBOX" not in environ


def test_codenode_folders_inside_a_runtime_folder_are_hidden(open_folder: Path) -> None:
    # A type whose PYTHONPATH holds the whole folder of the backend: the environment folder,
    # the plug-ins and the workspaces are inside a folder the sandbox shows, and still hidden.
    (open_folder / "lib").mkdir()
    (open_folder / "lib" / "helper.py").write_text("ANSWER = 42\n")
    (open_folder / "home").mkdir()
    (open_folder / "home" / "secret.key").write_text("cookie-secret")
    plugins = open_folder / "plugins"
    plugins.mkdir()
    pythonpath = ":".join(map(str, (ROOT, open_folder, open_folder / "lib")))
    (plugins / "python.py").write_text(python_plugin().replace(repr(str(ROOT)), repr(pythonpath)))
    backend = start_backend(plugins, open_folder)
    try:
        engine = start(backend, "mallory")
        assert value(backend, engine["id"], "__import__('helper').ANSWER") == 42
        for name in ("home", "plugins", "workspaces"):
            listing = f"__import__('os').listdir({str(open_folder / name)!r})"
            assert value(backend, engine["id"], listing) == [], name
        secret = open_folder / "home" / "secret.key"
        assert refused(backend, engine["id"], f"open({str(secret)!r})") == "FileNotFoundError"
    finally:
        backend.close()


def test_nothing_can_be_written_outside_the_workspace(backend: Backend, tmp_path: Path) -> None:
    engine = start(backend, "mallory")
    evil = "import os\nos.system('touch /tmp/pwned')\n"
    for path in (
        backend.plugins / "evil.py",
        Path("/usr/evil.py"),
        Path("/etc/evil"),
        Path("/evil"),
    ):
        assert refused(backend, engine["id"], f"open({str(path)!r}, 'w').write({evil!r})") in (
            "FileNotFoundError",
            "PermissionError",
            "OSError",
        ), path
        assert not path.exists()
    assert not (backend.plugins / "evil.py").exists()
    assert backend.http.get("/engine-types").json()["errors"] == []


def test_only_its_own_processes_are_seen_and_none_other_can_be_signalled(
    backend: Backend,
) -> None:
    engine, other = start(backend, "alice"), start(backend, "bob")
    pids = value(
        backend,
        engine["id"],
        "sorted(int(p) for p in __import__('os').listdir('/proc') if p.isdigit())",
    )
    assert pids == [1, 2], pids  # its namespace's init and itself
    # That init is the small C one make builds: an idle engine keeps no second Python.
    init = value(backend, engine["id"], "open('/proc/1/cmdline').read().split(chr(0))")
    assert init[0].endswith("/codenode-init") and init[1:] == ["2", ""], init
    listed = backend.http.get("/engine-types").json()["types"][0]
    targets = [backend.process.pid, os.getpid(), other["pid"]]
    if "template" in listed:
        targets.append(listed["template"]["pid"])
    for pid in targets:
        assert refused(backend, engine["id"], f"__import__('os').kill({pid}, 9)") in (
            "ProcessLookupError",
            "PermissionError",
        ), pid
        assert (
            refused(backend, engine["id"], f"open('/proc/{pid}/cmdline').read()")
            == "FileNotFoundError"
        )
    assert backend.http.get("/health").json()["status"] == "ok"
    assert value(backend, other["id"], "1 + 1") == 2


def test_no_way_to_root(backend: Backend) -> None:
    engine = start(backend, "mallory")
    facts = value(
        backend,
        engine["id"],
        "import os\nstatus = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read()"
        ".splitlines() if ':\\t' in l)\n(os.getuid(), os.geteuid(), status['NoNewPrivs'].strip(),"
        " status['CapEff'].strip())",
    )
    uid, euid, no_new_privs, capabilities = facts
    assert uid == euid != 0 and no_new_privs == "1" and int(capabilities, 16) == 0
    assert refused(backend, engine["id"], "__import__('os').setuid(0)") == "PermissionError"
    # A setuid-root program runs as the engine's user (no_new_privs, nosuid mounts).
    mount = shutil.which("mount")
    if mount is not None and os.stat(mount).st_mode & 0o4000:
        code = (
            "import subprocess\nr = subprocess.run([%r, '-t', 'tmpfs', 'x', '/tmp'],"
            " capture_output=True)\nr.returncode" % mount
        )
        assert value(backend, engine["id"], code) != 0


def test_workspaces_keep_files_for_their_key_only(backend: Backend, tmp_path: Path) -> None:
    first = start(backend, "alice")
    assert value(backend, first["id"], "import os; os.getcwd(), os.environ['HOME']") == (
        "/workspace",
        "/workspace",
    )
    run(backend, first["id"], "open('data.csv', 'w').write('a,b\\n1,2\\n')")
    folder = tmp_path / "workspaces" / "alice"
    assert (folder / "data.csv").read_text() == "a,b\n1,2\n"
    owner = (folder / "data.csv").stat().st_uid
    assert owner == folder.stat().st_uid != 0
    with pytest.raises(KeyError):
        pwd.getpwuid(owner)  # never an account of the machine
    # The same key's other engine, and a restarted one, find it; another key's does not.
    second = start(backend, "alice")
    assert value(backend, second["id"], "open('data.csv').read()") == "a,b\n1,2\n"
    assert backend.http.post(f"/engines/{first['id']}/restart").status_code == 200
    assert value(backend, first["id"], "open('data.csv').read()") == "a,b\n1,2\n"
    bob = start(backend, "bob")
    assert value(backend, bob["id"], "__import__('os').listdir('.')") == []
    for path in ("/.workspaces/alice/data.csv", str(folder / "data.csv"), "../alice/data.csv"):
        assert refused(backend, bob["id"], f"open({path!r}).read()") in (
            "FileNotFoundError",
            "PermissionError",
        ), path
    assert value(backend, bob["id"], "__import__('os').getuid()") != owner
    # /tmp is each engine's own.
    run(backend, first["id"], "open('/tmp/scratch', 'w').write('x')")
    assert refused(backend, second["id"], "open('/tmp/scratch').read()") == "FileNotFoundError"


def test_a_bad_workspace_key_is_refused(backend: Backend) -> None:
    for key in ("../etc", ".hidden", "a/b", "", "x" * 65, "é"):
        response = backend.http.post("/engines", json={"type": "python", "workspace": key})
        assert response.status_code == 422, (key, response.text)
        assert response.json()["error"] == "bad_workspace_key"


def test_network_none_reaches_nothing_but_its_own_loopback(backend: Backend) -> None:
    declare(backend, "offline.py", python_plugin("offline", network="none"))
    port = int(backend.url.rsplit(":", 1)[1])
    connect = f"__import__('socket').create_connection(('127.0.0.1', {port}), timeout=2)"
    online, offline = start(backend, "alice"), start(backend, "alice", "offline")
    assert refused(backend, online["id"], connect) == ""  # host network: it connects
    assert refused(backend, offline["id"], connect) == "ConnectionRefusedError"
    # Its own loopback is up: a server in the cell answers itself.
    echo = (
        "import socket\ns = socket.create_server(('127.0.0.1', 0))\n"
        "c = socket.create_connection(s.getsockname())\nc.close(); s.close()\n'up'"
    )
    assert value(backend, offline["id"], echo) == "up"


def test_extra_mounts_are_shown_as_declared(backend: Backend, tmp_path: Path) -> None:
    data, shared = tmp_path / "dataset", tmp_path / "shared"
    for folder in (data, shared):
        folder.mkdir()
    (data / "iris.csv").write_text("5.1,3.5\n")
    shared.chmod(0o777)
    mounts = f"[Mount({str(data)!r}, '/data'), Mount({str(shared)!r}, '/shared', writable=True)]"
    source = python_plugin("mounted").replace(")\n", f"    mounts={mounts},\n)\n")
    declare(
        backend,
        "mounted.py",
        source.replace("import EngineType, Limits", "import EngineType, Limits, Mount"),
    )
    engine = start(backend, "alice", "mounted")
    assert value(backend, engine["id"], "open('/data/iris.csv').read()") == "5.1,3.5\n"
    assert refused(backend, engine["id"], "open('/data/new', 'w')") in (
        "OSError",
        "PermissionError",
    )
    run(backend, engine["id"], "open('/shared/out.txt', 'w').write('done')")
    assert (shared / "out.txt").read_text() == "done"


def test_an_unsandboxed_type_sees_the_machine_and_says_so(
    backend: Backend, home: Path, tmp_path: Path
) -> None:
    declare(backend, "laptop.py", python_plugin("laptop", sandbox=False))
    listed = {t["name"]: t for t in backend.http.get("/engine-types").json()["types"]}
    assert listed["laptop"]["sandbox"] is False and listed["python"]["sandbox"] is True
    engine = start(backend, "alice", "laptop")
    assert (
        value(backend, engine["id"], f"open({str(home / 'secret.key')!r}).read()")
        == "cookie-secret"
    )
    assert "unsandboxed" in (tmp_path / "backend.log").read_text()


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def why_no_ordinary_user() -> str:
    """Why a backend cannot run as an ordinary user (nobody) here; '' if it can."""
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    check = f"import os, codenode; assert os.path.isfile({sys.executable!r})"
    probe = subprocess.run([*NOBODY, sys.executable, "-c", check], capture_output=True)
    if probe.returncode != 0:
        return f"the user nobody cannot run {sys.executable} (its folders are closed to others)"
    probe = subprocess.run([*NOBODY, "unshare", "-U", "-r", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        return "this kernel does not let ordinary users make user namespaces"
    return ""


def test_as_an_ordinary_user_a_user_namespace_does_the_same(open_folder: Path) -> None:
    why = why_no_ordinary_user()
    if why:
        pytest.skip(why)
    tmp_path = open_folder
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin(templated=True))
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.key").write_text("cookie-secret")
    for path in (plugins, plugins / "python.py", home):
        os.chown(path, 65534, 65534)
    os.chmod(home / "secret.key", 0o644)  # readable by nobody: only the sandbox keeps it out
    env = {**os.environ, "CODENODE_BACKEND_TOKEN": TOKEN, "CODENODE_HOME": str(home)}
    process = subprocess.Popen(
        [
            *NOBODY,
            sys.executable,
            "-m",
            "codenode",
            "backend",
            "--port",
            "0",
            "--plugins",
            str(plugins),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().split("listening on ")[1].strip()
    backend = Backend(plugins, process, url)
    try:
        backend.wait_for_types(lambda t: bool(t["types"]), timeout=20)
        backend.wait_for_templates()
        alice, bob = start(backend, "alice"), start(backend, "bob")
        assert value(backend, alice["id"], "__import__('os').getuid()") == 1000
        assert refused(backend, alice["id"], f"open({str(home / 'secret.key')!r})") in (
            "FileNotFoundError",
            "PermissionError",
        )
        run(backend, alice["id"], "open('mine.txt', 'w').write('x')")
        assert value(backend, bob["id"], "__import__('os').listdir('.')") == []
        pids = "sorted(int(p) for p in __import__('os').listdir('/proc') if p.isdigit())"
        assert value(backend, alice["id"], pids) == [1, 2]
        assert refused(backend, alice["id"], f"__import__('os').kill({process.pid}, 9)") in (
            "ProcessLookupError",
            "PermissionError",
        )
    finally:
        backend.close()


def test_a_runtime_inside_tmp_is_still_there_over_the_private_tmp(backend: Backend) -> None:
    # A checkout (its codenode, its .venv) may well live in /tmp: every engine's private /tmp
    # must not hide it.
    folder = Path(tempfile.mkdtemp(prefix="codenode-runtime-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        (folder / "helper.py").write_text("ANSWER = 42\n")
        pythonpath = f"{ROOT}:{folder}"
        declare(
            backend, "intmp.py", python_plugin("intmp").replace(repr(str(ROOT)), repr(pythonpath))
        )
        first, second = start(backend, "alice", "intmp"), start(backend, "alice", "intmp")
        assert value(backend, first["id"], "__import__('helper').ANSWER") == 42
        run(backend, first["id"], "open('/tmp/mine', 'w').write('x')")
        assert refused(backend, second["id"], "open('/tmp/mine')") == "FileNotFoundError"
        assert refused(backend, first["id"], f"open({str(folder / 'new')!r}, 'w')") in (
            "OSError",
            "PermissionError",
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


SYSTEM_PYTHON = "/usr/bin/python3"  # the launcher and the engine need the standard library only


def test_an_ordinary_users_sandbox_is_made_with_a_user_namespace(open_folder: Path) -> None:
    """The launcher run by an ordinary user (nobody), as a backend run by one starts engines."""
    if shutil.which("setpriv") is None or not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("needs setpriv and the system's Python")
    if subprocess.run([*NOBODY, "unshare", "-U", "-r", "true"], capture_output=True).returncode:
        pytest.skip("this kernel does not let ordinary users make user namespaces")
    workspaces = open_folder / "workspaces"
    for folder in (workspaces, workspaces / ".view", workspaces / "alice"):
        folder.mkdir()
    (open_folder / "secret").write_text("nobody's own secret")
    for path in (workspaces, workspaces / ".view", workspaces / "alice", open_folder / "secret"):
        os.chown(path, 65534, 65534)
    spec = {
        "staging": str(workspaces / ".view"),
        "readonly": [str(ROOT)],
        "hidden": [str(workspaces)],
        "tmp_mb": 64,
        "mode": "engine",
        "workspace": str(workspaces / "alice"),
    }
    ours, theirs = socket.socketpair()
    env = {"PATH": "/usr/bin:/bin", "CODENODE_SANDBOX": json.dumps(spec), "PYTHONPATH": str(ROOT)}
    launcher = [SYSTEM_PYTHON, "-I", "-S", str(ROOT / "codenode" / "engine" / "sandbox.py"), "--"]
    engine = [SYSTEM_PYTHON, "-m", "codenode.engine", "--fd", str(theirs.fileno())]
    process = subprocess.Popen(
        [*NOBODY, *launcher, *engine], pass_fds=[theirs.fileno()], env=env, stderr=subprocess.PIPE
    )
    theirs.close()
    ours.settimeout(20)
    try:
        reader = wire.FrameReader(ours)
        assert reader.read()["type"] == "ready"
        code = (
            "import os\nfacts = (os.getuid(), os.getcwd(), sorted(os.listdir('/proc'))[:2],"
            f" os.path.exists({str(open_folder / 'secret')!r}),"
            " open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
            "_ = open('mine.txt', 'w').write('x')\nprint(repr(facts))"
        )
        ours.sendall(wire.encode({"id": 1, "op": "evaluate", "code": code}))
        evaluation = Evaluation(1, code)
        while not evaluation.add(reader.read()):
            pass
        message = evaluation.result()
        assert message["err"] == "", message
        uid, cwd, pids, sees_secret, capabilities = ast.literal_eval(message["out"])
        assert (uid, cwd, pids, sees_secret) == (1000, "/workspace", ["1", "2"], False)
        assert int(capabilities, 16) == 0
        assert (workspaces / "alice" / "mine.txt").stat().st_uid == 65534
    finally:
        ours.close()
        process.wait(10)
        assert process.stderr is not None
        process.stderr.close()
