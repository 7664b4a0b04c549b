"""Codenode's settings, in one table: each is a CLI option, a CODENODE_* variable and a config key.

The table drives the command line, the environment, the config file (``codenode.toml`` in the
environment folder), validation, and docs/configuration.md (a test checks that the document
lists every setting). Precedence: command line, then environment, then config file, then the
default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "codenode.toml"


@dataclass(frozen=True)
class Setting:
    """One setting: its name (config key), type, default and a line of help."""

    name: str
    kind: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        """Its environment variable."""
        return "CODENODE_" + self.name.upper().replace("-", "_")

    @property
    def option(self) -> str:
        """Its command-line option."""
        return "--" + self.name

    def parse(self, value: Any, where: str) -> Any:
        """value (text from the environment, or a TOML value) as this setting's type."""
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise SettingError(f"{where}: {self.name} must be true or false, not {value!r}")
        if self.kind is int:
            try:
                return int(value)
            except (TypeError, ValueError):
                raise SettingError(f"{where}: {self.name} must be a whole number") from None
        if self.kind is float:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise SettingError(f"{where}: {self.name} must be a number") from None
            if number <= 0:
                raise SettingError(f"{where}: {self.name} must be more than 0")
            return number
        return str(value)


class SettingError(ValueError):
    """A setting given a value it cannot take; the message says where and what."""


SETTINGS = (
    Setting("host", str, "127.0.0.1", "address the frontend listens on"),
    Setting("port", int, 8000, "port the frontend listens on"),
    Setting("database-url", str, "", "database URL; empty: SQLite in the environment folder"),
    Setting("backend-port", int, 8337, "port of the local backend that `codenode run` starts"),
    Setting("signup", str, "closed", "who may sign up: open, closed, or admin (admins add users)"),
    Setting(
        "engine-on-open",
        bool,
        False,
        "start a notebook's engine when a writer opens it, not at its first evaluation",
    ),
    Setting("idle-engine-minutes", float, 60, "stop a notebook's engine after this long unused"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def read_config(home: Path) -> dict[str, Any]:
    """The settings in the environment folder's config file (none if it does not exist)."""
    path = home / CONFIG_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - set(BY_NAME))
    if unknown:
        raise SettingError(f"{path}: unknown settings {unknown}; known: {sorted(BY_NAME)}")
    return {name: BY_NAME[name].parse(value, str(path)) for name, value in data.items()}


def resolve(
    home: Path, given: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """Every setting's value: command line (given, None = not given), environment, file."""
    from_file = read_config(home)
    values = {}
    for setting in SETTINGS:
        if given.get(setting.name) is not None:
            values[setting.name] = setting.parse(given[setting.name], setting.option)
        elif setting.env in environ:
            values[setting.name] = setting.parse(environ[setting.env], setting.env)
        else:
            values[setting.name] = from_file.get(setting.name, setting.default)
    if values["signup"] not in ("open", "closed", "admin"):
        raise SettingError(f"signup must be open, closed or admin, not {values['signup']!r}")
    return values


def default_config() -> str:
    """The config file `codenode init` writes: every setting, commented out, with its help."""
    lines = ["# Codenode settings. Each is also a CODENODE_* variable and a command-line option."]
    for setting in SETTINGS:
        lines.append(f"\n# {setting.help} ({setting.env}, {setting.option})")
        default = setting.default
        shown = f'"{default}"' if isinstance(default, str) else str(default).lower()
        lines.append(f"# {setting.name} = {shown}")
    return "\n".join(lines) + "\n"
