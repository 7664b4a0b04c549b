"""The settings table: precedence, validation, the config file and its documentation."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from codenode import settings
from codenode.settings import SETTINGS, SettingError, resolve

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_then_file_then_environment_then_command_line(tmp_path: Path) -> None:
    assert resolve(tmp_path, {}, {})["port"] == 8000
    (tmp_path / "codenode.toml").write_text('port = 9000\nsignup = "open"\n')
    assert resolve(tmp_path, {}, {})["port"] == 9000
    assert resolve(tmp_path, {}, {"CODENODE_PORT": "9100"})["port"] == 9100
    values = resolve(tmp_path, {"port": 9200, "host": None}, {"CODENODE_PORT": "9100"})
    assert values["port"] == 9200
    assert values["host"] == "127.0.0.1"
    assert values["signup"] == "open"


@pytest.mark.parametrize(
    ("config", "environ", "message"),
    [
        ("prot = 1\n", {}, "unknown settings ['prot']"),
        ("port = 'eighty'\n", {}, "port must be a whole number"),
        ("port = \n", {}, "codenode.toml"),
        ("", {"CODENODE_PORT": "x"}, "CODENODE_PORT: port must be a whole number"),
        ("", {"CODENODE_SIGNUP": "maybe"}, "signup must be open, closed or admin"),
    ],
)
def test_bad_values_are_named(
    tmp_path: Path, config: str, environ: dict[str, str], message: str
) -> None:
    (tmp_path / "codenode.toml").write_text(config)
    with pytest.raises(SettingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        resolve(tmp_path, {}, environ)


def test_the_written_config_file_reads_back_as_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "codenode.toml").write_text(settings.default_config())
    assert resolve(tmp_path, {}, {}) == {s.name: s.default for s in SETTINGS}


def test_configuration_doc_lists_every_setting() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for setting in SETTINGS:
        row = f"| `{setting.name}` | `{setting.env}` | `{setting.option}` |"
        assert row in doc, row


def run_init(home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "codenode", "init", str(home)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_init_makes_the_environment_and_is_safe_to_run_twice(tmp_path: Path) -> None:
    home = tmp_path / "env"
    env = {**os.environ}
    env.pop("CODENODE_DATABASE_URL", None)
    first = run_init(home, env)
    assert first.returncode == 0, first.stderr
    assert f"created {home}" in first.stdout
    for name in ("secret.key", "backend.token"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
    assert (home / "plugins" / "python.py").exists()
    assert (home / "codenode.db").exists()
    secret = (home / "secret.key").read_text()
    (home / "codenode.toml").write_text("port = 8123\n")  # a user's edit survives
    second = run_init(home, env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0].startswith("database at the newest schema")
    assert (home / "secret.key").read_text() == secret
    assert (home / "codenode.toml").read_text() == "port = 8123\n"
