"""Workspaces: a folder and, as root, an identity of its own per key, kept in the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codenode.backend.workspaces import BadWorkspaceKey, Workspaces, check_key, uid_range


def test_keys_that_name_a_folder_and_no_other() -> None:
    assert check_key("user-7-abc.def_1") == "user-7-abc.def_1"
    for bad in ("", ".", "..", ".x", "a/b", "a\0", "x" * 65, "é", 7, None):
        with pytest.raises(BadWorkspaceKey):
            check_key(bad)


def test_the_uid_range_option() -> None:
    assert uid_range("5000-5009") == range(5000, 5010)
    for bad in ("5000", "a-b", "10-20", "6000-5000"):
        with pytest.raises(SystemExit):
            uid_range(bad)


def test_each_key_gets_its_folder_and_identity_and_keeps_them(tmp_path: Path) -> None:
    root = tmp_path / "workspaces"
    workspaces = Workspaces(root, range(4_100_000, 4_100_010))
    alice, bob = workspaces.get("alice"), workspaces.get("bob")
    assert alice.path == root / "alice" and alice.path.is_dir()
    assert oct(alice.path.stat().st_mode & 0o777) == "0o700"
    if os.geteuid() == 0:
        assert alice.uid != bob.uid and {alice.uid, bob.uid} <= set(range(4_100_000, 4_100_010))
        assert alice.path.stat().st_uid == alice.uid
    # A backend started again finds the same identities in the folders, and hands out others.
    again = Workspaces(root, range(4_100_000, 4_100_010))
    assert again.get("alice").uid == alice.uid
    if os.geteuid() == 0:
        assert again.get("carol").uid not in (alice.uid, bob.uid)


def test_a_link_in_place_of_a_workspace_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "workspaces"
    root.mkdir()
    (root / "alice").symlink_to("/etc")
    with pytest.raises(Exception, match="not a folder"):
        Workspaces(root).get("alice")
