"""Who sees a notebook, and how: other users, viewers, a second tab, the public link."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Page, expect

from tests.frontend.live import Client
from tests.ui.conftest import OpenContext, OpenNotebook, Watch
from tests.ui.editor import editor, open_notebook, toolbar, type_into
from tests.ui.site import Site, make_notebook


def test_another_user_cannot_open_my_notebook(
    new_context: OpenContext, site: Site, user: Client, watch: Watch, screenshot
) -> None:
    secret = f"secret_{secrets.token_hex(4)} = 1"
    notebook = make_notebook(user, [("code", secret)], title="Private")
    watch.allow(r"status of 404")  # the notebook's GET answers 404, as if it did not exist
    # and the bus refuses its WebSocket with 404 too, which Chromium logs by itself.
    watch.allow(r"WebSocket handshake: Unexpected response code: 404")
    page = new_context(site.sign_up()).new_page()
    page.goto(f"/notebooks/{notebook['id']}")
    expect(page.get_by_text(re.compile(r"no such notebook|not found", re.I)).first).to_be_visible()
    expect(page.locator(".cell")).to_have_count(0)
    assert secret not in page.content()
    assert "Private" not in page.locator("body").inner_text()
    screenshot(page, "not-found")


def test_a_viewer_sees_it_read_only(
    new_context: OpenContext, site: Site, user: Client, screenshot
) -> None:
    notebook = make_notebook(user, [("code", "shown = 42"), ("markdown", "# Notes")])
    viewer = site.sign_up("viewer")
    user.ok(
        "PUT",
        f"/api/notebooks/{notebook['id']}/shares/{viewer.user['username']}",  # type: ignore[index]
        json={"role": "viewer"},
    )
    page = new_context(viewer).new_page()
    open_notebook(page, str(notebook["id"]))
    expect(page.locator(".read-only")).to_be_visible()
    expect(editor(page, 0)).to_have_text("shown = 42")
    expect(editor(page, 0)).to_have_attribute("contenteditable", "false")
    editor(page, 0).click()
    page.keyboard.type("typed by a viewer")
    page.keyboard.press("Shift+Enter")
    expect(editor(page, 0)).to_have_text("shown = 42")
    for label in ("Add cell", "Delete cell", "Share"):
        button = toolbar(page, label)
        assert button.count() == 0 or button.is_disabled(), label
    screenshot(page, "read-only")
    toolbar(page, "Revisions").click()  # a viewer may look at revisions, not revert
    revisions = page.locator("dialog.revisions")
    expect(revisions.locator(".revision").first).to_be_visible()
    expect(revisions.get_by_role("button", name=re.compile("^Revert"))).to_have_count(0)
    stored = user.ok("GET", f"/api/notebooks/{notebook['id']}")
    assert [c["source"] for c in stored["cells"]] == ["shown = 42", "# Notes"]


def test_a_second_tab_sees_the_first_tabs_edit(page: Page, opened: OpenNotebook) -> None:
    notebook = opened([("code", "")])
    second = page.context.new_page()
    open_notebook(second, str(notebook["id"]))
    type_into(page, 0, "x = 'from the first tab'")
    expect(editor(second, 0)).to_have_text("x = 'from the first tab'")
    # Running shows in both tabs too.
    page.keyboard.press("Shift+Enter")
    expect(second.locator(".cell").nth(1)).to_be_attached()
    type_into(page, 1, "x")
    page.keyboard.press("Control+Enter")
    expect(second.locator(".cell").nth(1).locator(".output", has_text="first tab")).to_be_visible()


def test_edits_are_saved_as_you_type(page: Page, opened: OpenNotebook, user: Client) -> None:
    notebook = opened([("code", "")])
    type_into(page, 0, "saved = True")
    expect(page.locator(".save-state")).to_have_text("Saved")
    stored = user.ok("GET", f"/api/notebooks/{notebook['id']}")
    assert stored["cells"][0]["source"] == "saved = True"
    page.reload()
    page.locator(".cell .cm-content").first.wait_for()
    expect(editor(page, 0)).to_have_text("saved = True")


def test_share_dialog_adds_and_removes(
    page: Page, opened: OpenNotebook, site: Site, user: Client, screenshot
) -> None:
    notebook = opened([("code", "")])
    friend = site.sign_up("friend").user["username"]  # type: ignore[index]
    toolbar(page, "Share").click()
    dialog = page.locator("dialog.share")
    expect(dialog).to_be_visible()
    dialog.locator("input[name=username]").fill(friend)
    dialog.locator("select[name=role]").select_option("viewer")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog).to_contain_text(friend)
    dialog.locator("input[name=public]").check()
    screenshot(page, "share")
    shares = user.ok("GET", f"/api/notebooks/{notebook['id']}/shares")
    assert shares["shares"] == [{"username": friend, "role": "viewer"}]
    dialog.get_by_role("button", name=re.compile(r"^Remove")).click()
    expect(dialog.get_by_role("button", name=re.compile(r"^Remove"))).to_have_count(0)
    shares = user.ok("GET", f"/api/notebooks/{notebook['id']}/shares")
    assert shares == {"shares": [], "public_link": True}


def test_public_link_opens_signed_out(new_context: OpenContext, user: Client, screenshot) -> None:
    notebook = make_notebook(user, [("code", "public = 'yes'")], title="Open to all")
    user.ok("PUT", f"/api/notebooks/{notebook['id']}/public", json={"enabled": True})
    page = new_context().new_page()
    open_notebook(page, str(notebook["id"]))
    expect(editor(page, 0)).to_have_text("public = 'yes'")
    expect(page.locator(".read-only")).to_be_visible()


def test_revisions_view_and_revert(
    page: Page, opened: OpenNotebook, site: Site, user: Client, screenshot
) -> None:
    notebook = opened([("code", "version = 1")])
    nid = notebook["id"]
    cell_id = notebook["cells"][0]  # type: ignore[index]
    # Another author's edit starts a new revision (one author's edits within a minute merge).
    collaborator = site.sign_up("collaborator")
    name = collaborator.user["username"]  # type: ignore[index]
    user.ok("PUT", f"/api/notebooks/{nid}/shares/{name}", json={"role": "collaborator"})
    collaborator.ok(
        "PATCH", f"/api/notebooks/{nid}/cells/{cell_id}", json={"source": "version = 2"}
    )
    expect(editor(page, 0)).to_have_text("version = 2")
    toolbar(page, "Revisions").click()
    dialog = page.locator("dialog.revisions")
    expect(dialog.locator(".revision")).to_have_count(2)
    oldest = dialog.locator(".revision").nth(1)
    oldest.get_by_role("button", name=re.compile(r"^View")).click()
    expect(page.get_by_text("version = 1").first).to_be_visible()
    screenshot(page, "revisions")
    dialog.get_by_role("button", name="Revert to this revision").click()
    expect(dialog).to_be_hidden()
    expect(editor(page, 0)).to_have_text("version = 1")
    stored = user.ok("GET", f"/api/notebooks/{nid}")
    assert stored["cells"][0]["source"] == "version = 1"
