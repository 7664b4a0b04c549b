"""Engines forked from a warm template, through a real backend: isolation, limits, supervision.

The rest of the backend's behaviour (interrupt, restart, stop, explained deaths, memory and
process limits, output floods) is tested for forked engines too: test_backend.py runs every
test both ways.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from codenode.backend.enginetype import Limits
from tests.backend.conftest import ENGINES, ROOT, Backend, outer_pid, parent_of, python_plugin
from tests.backend.test_backend import alive, cgroup_has, declare, result_of, until, wait_gone
from tests.faults.test_leaks import open_fds, rss_kib

PRELOAD = ["decimal", "xml.dom.minidom", "numpy"]


def templated(name: str = "python", **fields: Any) -> str:
    return python_plugin(name, templated=True, **fields)


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    """The plug-in folder (the conftest's backend fixture serves it): one templated type."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "python.py").write_text(templated(preload=PRELOAD))
    return folder


def evaluate(backend: Backend, engine_id: str, code: str) -> dict[str, Any]:
    with backend.bus(engine_id) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": code}))
        return result_of(ws)


def value(backend: Backend, engine_id: str, code: str) -> Any:
    """The value of an expression in the engine (its repr, read back)."""
    result = evaluate(backend, engine_id, code)
    assert result["err"] == "", result
    return eval(result["out"])


def template_of(backend: Backend, type_name: str = "python") -> dict[str, Any]:
    listing = backend.http.get("/engine-types").json()
    return dict(next(t for t in listing["types"] if t["name"] == type_name)["template"])


def test_the_template_is_listed_with_its_preloads(backend: Backend) -> None:
    template = template_of(backend)
    assert template["state"] == "ready" and alive(template["pid"])
    assert template["preloaded"] == PRELOAD and template["failed"] == {}
    # Started as the plug-in says, with --template-fd: the same Python, the same clean env.
    command = Path(f"/proc/{template['pid']}/cmdline").read_bytes().split(b"\0")
    assert command[0].decode() == sys.executable and b"--template-fd" in command
    environ = Path(f"/proc/{template['pid']}/environ").read_bytes()
    assert b"CODENODE_BACKEND_TOKEN" not in environ


def test_forked_engines_share_nothing(backend: Backend) -> None:
    first, second = backend.start_engine(), backend.start_engine()
    assert first["forked"] and second["forked"]
    template_pid = template_of(backend)["pid"]
    evaluate(backend, first["id"], "x = 1\nimport json\njson.marker = 'first'")
    assert value(backend, first["id"], "x") == 1
    assert "NameError" in evaluate(backend, second["id"], "x")["err"]
    assert value(backend, second["id"], "import json; hasattr(json, 'marker')") is False
    draws = "import random, numpy; (random.random(), float(numpy.random.random()))"
    first_draws, second_draws = (value(backend, e["id"], draws) for e in (first, second))
    assert first_draws[0] != second_draws[0] and first_draws[1] != second_draws[1]
    list_fds = (
        "import os\nfds = []\nfor fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n        fds.append(os.readlink('/proc/self/fd/' + fd))\n"
        "    except OSError:\n        pass  # the listing's own\n"
    )
    for engine in (first, second):
        evaluate(backend, engine["id"], list_fds)
        facts = value(
            backend,
            engine["id"],
            "(os.getsid(0), os.getpgrp(), os.getppid(), fds,"
            " 'CODENODE_BACKEND_TOKEN' in os.environ)",
        )
        session, group, parent, fds, has_token = facts
        # In its sandbox, the engine is the child of its PID namespace's init (1), which leads
        # its session and group and is the template's child.
        assert session == group == parent == 1
        assert parent_of(engine["pid"]) == template_pid
        # Its own socket and nothing of the template's: no control socket, no wakeup pipe.
        assert sum(fd.startswith("socket:") for fd in fds) == 1, fds
        assert not has_token


def test_a_preloaded_module_is_there_before_it_is_imported(backend: Backend) -> None:
    engine = backend.start_engine()
    loaded = "import sys; [name in sys.modules for name in ('xml.dom.minidom', 'numpy')]"
    assert value(backend, engine["id"], loaded) == [True, True]
    # And the namespace is fresh: the preloads are not in it until the user imports them.
    assert "NameError" in evaluate(backend, engine["id"], "numpy")["err"]


def test_limits_apply_to_forked_engines(backend: Backend) -> None:
    limits = Limits(memory_mb=1024, cpu_seconds=1, open_files=64, processes=100)
    declare(backend, "limited.py", templated("limited", limits=limits))
    engine = backend.start_engine("limited")
    assert engine["forked"]
    got = value(
        backend,
        engine["id"],
        "import resource as r; [r.getrlimit(getattr(r, n)) for n in "
        "('RLIMIT_NOFILE', 'RLIMIT_CPU', 'RLIMIT_NPROC')]",
    )
    assert got == [(64, 64), (1, 2), (100, 100)]
    if cgroup_has("memory"):  # it joined its own cgroup before saying ready
        cgroups = value(backend, engine["id"], "open('/proc/self/cgroup').read()")
        assert engine["id"] in cgroups
    with backend.bus(engine["id"]) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "while True: pass"}))
        dead = until(ws, lambda m: m.get("state") == "dead")
    assert dead["reason"] == "killed: CPU time limit of 1 s exceeded"


def test_interrupt_and_completion_while_busy(backend: Backend) -> None:
    engine = backend.start_engine()
    with backend.bus(engine["id"]) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "import time\nwhile True: pass"}))
        until(ws, lambda m: m.get("state") == "busy")
        ws.send(json.dumps({"id": 2, "op": "complete", "text": "import o", "cursor": 8}))
        reply = until(ws, lambda m: m.get("id") == 2)
        assert reply["type"] == "reply" and "os" in reply["content"]["matches"], reply
        assert backend.http.post(f"/engines/{engine['id']}/interrupt").status_code == 202
        result = result_of(ws)
        assert result["err"].endswith("KeyboardInterrupt\n")


def test_engines_outlive_their_template_and_a_new_one_takes_over(backend: Backend) -> None:
    old = backend.start_engine()
    old_template = template_of(backend)["pid"]
    os.kill(old_template, signal.SIGKILL)
    assert wait_gone(old_template)
    assert value(backend, old["id"], "6 * 7") == 42  # the template's death did not take it
    listing = backend.wait_for_types(
        lambda t: (
            t["types"][0]["template"]["state"] == "ready"
            and t["types"][0]["template"]["pid"] != old_template
        ),
        timeout=20,
    )
    new_template = listing["types"][0]["template"]["pid"]
    new = backend.start_engine()
    assert new["forked"] and parent_of(new["pid"]) == new_template
    # The orphan is the backend's now: its death is still seen and explained.
    with backend.bus(old["id"]) as ws:
        os.kill(old["pid"], signal.SIGKILL)
        dead = until(ws, lambda m: m.get("state") == "dead")
    assert dead["signal"] == "SIGKILL" and dead["reason"].startswith("killed by SIGKILL")
    assert backend.http.delete(f"/engines/{new['id']}").status_code == 204
    assert not alive(new["pid"])
    # The dead template's spare child came to the backend too, and is reaped: no zombies.
    deadline = time.monotonic() + 15
    while zombie_children(backend.process.pid):
        assert time.monotonic() < deadline, zombie_children(backend.process.pid)
        time.sleep(0.2)


def zombie_children(parent: int) -> list[int]:
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == parent:
            found.append(int(name))
    return found


def test_a_changed_plugin_replaces_the_template_and_leaves_engines_running(
    backend: Backend, plugins: Path
) -> None:
    engine = backend.start_engine()
    old_template = template_of(backend)["pid"]
    (plugins / "python.py").write_text(templated(preload=["decimal"]))
    listing = backend.wait_for_types(
        lambda t: t["types"][0]["template"].get("preloaded") == ["decimal"], timeout=20
    )
    assert listing["types"][0]["template"]["pid"] != old_template
    assert wait_gone(old_template)
    assert value(backend, engine["id"], "1 + 1") == 2
    assert backend.start_engine()["forked"]


def test_a_killed_backend_leaves_no_template_and_no_engine(backend: Backend) -> None:
    template = template_of(backend)["pid"]
    idle, busy = backend.start_engine(), backend.start_engine()
    spawn = "import subprocess; child = subprocess.Popen(['sleep', '1000']); child.pid"
    grandchild = outer_pid(value(backend, busy["id"], spawn), busy["pid"])
    with backend.bus(busy["id"]) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "while True: pass"}))
        until(ws, lambda m: m.get("state") == "busy")
        os.kill(backend.process.pid, signal.SIGKILL)
        backend.process.wait(10)
    for pid in (template, idle["pid"], busy["pid"], grandchild):
        assert wait_gone(pid, 5), f"process {pid} outlived its backend"


def test_a_template_with_threads_does_not_fork(backend: Backend) -> None:
    declare(
        backend, "threaded.py", templated("threaded", preload=["tests.engines.starts_a_thread"])
    )
    template = template_of(backend, "threaded")
    assert "threads" in template["problem"]
    engine = backend.start_engine("threaded")
    assert not engine["forked"] and value(backend, engine["id"], "2 + 2") == 4


def test_a_type_whose_template_cannot_start_starts_engines_by_exec(backend: Backend) -> None:
    source = (
        "from codenode.backend.enginetype import EngineType\n"
        f"t = EngineType(name='plain', bin={sys.executable!r}, "
        f"args=[{str(ENGINES / 'no_templates.py')!r}], templated=True, start_timeout=3, "
        f"env={{'PYTHONPATH': {str(ROOT)!r}}})\n"
    )
    declare(backend, "plain.py", source)
    template = backend.wait_for_templates()["types"]
    plain = next(t for t in template if t["name"] == "plain")["template"]
    assert "I cannot be a template" in plain["problem"], plain
    engine = backend.start_engine("plain")
    assert not engine["forked"] and value(backend, engine["id"], "2 + 2") == 4


@pytest.mark.timeout(300)
def test_500_forks_and_stops_leave_backend_and_template_flat(backend: Backend) -> None:
    template = template_of(backend)["pid"]
    backend_pid = backend.process.pid
    measured: dict[int, tuple[int, int, int, int]] = {}
    for count in range(1, 501):
        engine = backend.start_engine() if count % 50 == 0 else start_quickly(backend)
        assert backend.http.delete(f"/engines/{engine['id']}").status_code == 204
        if count in (100, 500):
            time.sleep(0.3)  # reports of the last exits are in
            measured[count] = (
                open_fds(backend_pid),
                open_fds(template),
                rss_kib(backend_pid),
                rss_kib(template),
            )
    (fds_100, tfds_100, rss_100, trss_100), (fds_500, tfds_500, rss_500, trss_500) = (
        measured[100],
        measured[500],
    )
    assert fds_500 <= fds_100 + 2 and tfds_500 == tfds_100, measured
    assert rss_500 - rss_100 < 8 * 1024 and trss_500 - trss_100 < 1024, measured
    assert template_of(backend)["forks"] >= 500


def start_quickly(backend: Backend) -> dict[str, Any]:
    response = backend.http.post("/engines", json={"type": "python"})
    assert response.status_code == 201, response.text
    assert response.json()["forked"]
    return dict(response.json())


def test_without_pidfds_engines_are_started_by_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from codenode.backend import templates
    from codenode.backend.engines import Engine
    from codenode.backend.enginetype import EngineType

    monkeypatch.setattr(templates, "pidfds_work", lambda: False)
    engine_type = EngineType(
        name="python",
        bin=sys.executable,
        args=["-m", "codenode.engine"],
        env={"PYTHONPATH": str(ROOT)},
        templated=True,
    )

    async def start() -> tuple[dict[str, Any] | None, bool]:
        kept = templates.Templates()
        kept.sync([engine_type])
        engine = Engine(engine_type, None, kept.launch)
        await engine.start()
        await engine.stop()
        await kept.close()
        return kept.describe("python"), engine.forked

    listed, forked = asyncio.run(start())
    assert listed == {"state": "none", "problem": templates.NO_PIDFDS} and not forked
