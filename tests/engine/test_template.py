"""The engine template: engines forked from one warm process, each on its own."""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codenode.protocol import engine as wire
from codenode.protocol.evaluation import Evaluation


class Template:
    """A template process and its control socket."""

    def __init__(self, preload: str = "", startup: str = "") -> None:
        self.control, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [
            sys.executable,
            "-m",
            "codenode.engine",
            "--template-fd",
            str(child.fileno()),
        ]
        if preload:
            argv += ["--preload", preload]
        if startup:
            argv += ["--startup", startup]
        self.process = subprocess.Popen(argv, pass_fds=[child.fileno()], start_new_session=True)
        child.close()
        self.control.settimeout(30)
        self.ready = self.receive()
        assert self.ready["type"] == "ready", self.ready
        self.ids = 0
        self.stderr_pipes: list[int] = []

    def receive(self) -> dict[str, Any]:
        return dict(json.loads(self.control.recv(65536)))

    def fork(self, **request: Any) -> Engine:
        mine, theirs = socket.socketpair()
        stderr_read, stderr_write = os.pipe()
        self.ids += 1
        fds = array.array("i", [theirs.fileno(), stderr_write])
        self.control.sendmsg(
            [json.dumps({"op": "fork", "id": self.ids, **request}).encode()],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)],
        )
        theirs.close()
        os.close(stderr_write)
        self.stderr_pipes.append(stderr_read)
        while True:
            answer = self.receive()
            if answer["type"] == "forked":
                assert answer["id"] == self.ids
                return Engine(mine, answer["pid"])

    def close(self) -> None:
        self.control.close()
        self.process.wait(10)


class Engine:
    """An engine forked from a template, spoken to over its socket."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock, self.pid = sock, pid
        sock.settimeout(30)
        self.reader = wire.FrameReader(sock)
        ready = self.reader.read()
        assert ready is not None and ready["type"] == "ready" and ready["pid"] == pid
        self.ids = 0

    def evaluate(self, code: str) -> dict[str, Any]:
        self.ids += 1
        self.sock.sendall(wire.encode({"id": self.ids, "op": "evaluate", "code": code}))
        evaluation = Evaluation(self.ids, code)
        while True:
            message = self.reader.read()
            assert message is not None
            if evaluation.add(message):
                return evaluation.result()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def template() -> Iterator[Template]:
    running = Template(preload="json,decimal,random,no_such_module_here")
    yield running
    running.control.close()
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return True
        time.sleep(0.05)
    return False


def test_preloads_are_reported(template: Template) -> None:
    assert template.ready["preloaded"] == ["json", "decimal", "random"]
    assert "ModuleNotFoundError" in template.ready["failed"]["no_such_module_here"]


def test_forked_engines_are_separate(template: Template) -> None:
    first, second = template.fork(), template.fork()
    try:
        assert first.pid != second.pid
        first.evaluate("x = 1\nimport json\njson.marker = 'first'\nimport random")
        assert first.evaluate("x")["out"] == "1\n"
        assert "NameError" in second.evaluate("x")["err"]
        assert second.evaluate("import json; hasattr(json, 'marker')")["out"] == "False\n"
        # A preloaded module is there already; random sequences differ between engines.
        assert second.evaluate("import sys; 'decimal' in sys.modules")["out"] == "True\n"
        draws = [e.evaluate("import random; random.random()")["out"] for e in (first, second)]
        assert draws[0] != draws[1]
        # Each is an engine of its own: its own session, and no descriptor of the template's.
        for engine in (first, second):
            assert os.getsid(engine.pid) == engine.pid
            fds = engine.evaluate("import os; sorted(os.listdir('/proc/self/fd'))")["out"]
            assert len(eval(fds)) <= 12, fds  # stdio, its socket, its own capture pipes
    finally:
        first.close()
        second.close()


def test_the_template_reports_how_engines_ended(template: Template) -> None:
    engine = template.fork()
    engine.sock.sendall(wire.encode({"id": 1, "op": "evaluate", "code": "import os; os._exit(3)"}))
    while True:
        report = template.receive()
        if report["type"] == "exited":
            break
    assert report == {"type": "exited", "pid": engine.pid, "exit_code": 3}
    engine.close()


def test_engines_outlive_their_template_and_die_with_their_socket(template: Template) -> None:
    engine = template.fork()
    template.process.send_signal(signal.SIGKILL)
    template.process.wait(10)
    assert engine.evaluate("6*7")["out"] == "42\n"  # the template's death did not take it
    engine.close()  # the backend's end closes: the engine exits at once
    assert gone(engine.pid)


def test_the_template_exits_when_its_control_socket_closes(template: Template) -> None:
    template.close()
    assert template.process.returncode == 0


def test_a_failing_startup_is_told_on_the_engines_stderr() -> None:
    template = Template(startup="import no_such_module_for_startup")
    try:
        mine, theirs = socket.socketpair()
        stderr_read, stderr_write = os.pipe()
        fds = array.array("i", [theirs.fileno(), stderr_write])
        template.control.sendmsg(
            [json.dumps({"op": "fork", "id": 1}).encode()],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)],
        )
        theirs.close()
        os.close(stderr_write)
        forked = template.receive()
        assert forked["type"] == "forked"
        with os.fdopen(stderr_read, "rb") as stderr:
            told = stderr.read().decode()
        assert "the startup code failed" in told and "no_such_module_for_startup" in told
        while (report := template.receive())["type"] != "exited":
            pass
        assert report == {"type": "exited", "pid": forked["pid"], "exit_code": 70}
        mine.close()
    finally:
        template.close()


def test_a_spare_takes_its_request_straight_from_the_backend(template: Template) -> None:
    template.control.send(json.dumps({"op": "spare"}).encode())
    data, ancdata, _, _ = template.control.recvmsg(65536, socket.CMSG_SPACE(4))
    announced = json.loads(data)
    assert announced["type"] == "spare"
    (level, kind, payload), *_ = ancdata
    assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
    line = socket.socket(fileno=int.from_bytes(payload[:4], sys.byteorder))
    # The spare waits, forked already, with nothing of the template's but its line.
    assert Path(f"/proc/{announced['pid']}").exists()
    mine, theirs = socket.socketpair()
    stderr_read, stderr_write = os.pipe()
    fds = array.array("i", [theirs.fileno(), stderr_write])
    line.sendmsg(
        [json.dumps({"op": "fork", "id": 1}).encode()],
        [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)],
    )
    for fd in (theirs.fileno(), stderr_write):
        os.close(fd)
    theirs.detach()
    line.close()
    engine = Engine(mine, announced["pid"])  # its ready frame carries that pid
    try:
        assert engine.evaluate("6 * 7")["out"] == "42\n"
        assert os.getsid(engine.pid) == engine.pid
    finally:
        engine.close()
        os.close(stderr_read)


def test_a_spare_whose_line_closes_exits(template: Template) -> None:
    template.control.send(json.dumps({"op": "spare"}).encode())
    data, ancdata, _, _ = template.control.recvmsg(65536, socket.CMSG_SPACE(4))
    pid = json.loads(data)["pid"]
    os.close(int.from_bytes(ancdata[0][2][:4], sys.byteorder))
    while (report := template.receive())["type"] != "exited":
        pass
    assert report == {"type": "exited", "pid": pid, "exit_code": 0}
