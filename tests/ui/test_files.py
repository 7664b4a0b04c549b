"""The Files panel beside a notebook: drop a CSV, read it in a cell, download it back; new
folder, upload by the button, rename, delete; someone else's notebook shows a note, no files;
how full a workspace with a size limit is, and an upload it has no room for."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from codenode.backend.enginetype import Limits
from tests.backend.conftest import python_plugin
from tests.frontend.live import Client
from tests.ui.conftest import TIMEOUT_MS, OpenContext, OpenNotebook, Watch
from tests.ui.editor import editor, open_notebook, output, toolbar
from tests.ui.site import Site, make_notebook, session_cookies

CSV = "city,population\nLyon,522250\nNantes,320732\n"
MIB = 1 << 20
Shot = Callable[[Page, str], Path]

# A drop as the browser makes it when a file is dragged from the desktop: dragenter, dragover,
# drop, the same DataTransfer holding a File.
DROP = """([selector, name, text]) => {
    const data = new DataTransfer();
    data.items.add(new File([text], name, { type: "text/csv" }));
    const target = document.querySelector(selector);
    for (const type of ["dragenter", "dragover", "drop"]) {
        const event = { dataTransfer: data, bubbles: true, cancelable: true };
        target.dispatchEvent(new DragEvent(type, event));
    }
}"""


def files_panel(page: Page) -> Locator:
    """The Files panel, opened from the toolbar."""
    toggle = toolbar(page, "Files")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    panel = page.get_by_role("complementary", name="Files")
    expect(panel).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    return panel


def test_drop_a_csv_read_it_in_a_cell_and_download_it(
    page: Page, opened: OpenNotebook, tmp_path: Path, screenshot: Shot
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    opened([("code", 'print(open("data.csv").read())')])
    panel = files_panel(page)
    expect(panel.get_by_text("No files yet")).to_be_visible()

    page.evaluate(DROP, ["#files-panel", "data.csv", CSV])
    link = panel.get_by_role("link", name="data.csv", exact=True)
    expect(link).to_be_visible()
    expect(panel.get_by_role("status")).to_contain_text("Uploaded data.csv")
    screenshot(page, "files-panel")

    panel.get_by_role("button", name="Copy path of data.csv").click()
    expect(panel.get_by_role("status")).to_contain_text("Copied data.csv")
    assert page.evaluate("navigator.clipboard.readText()") == "data.csv"

    editor(page, 0).click()
    page.keyboard.press("Shift+Enter")
    expect(output(page, 0, "Lyon,522250")).to_be_visible()

    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "downloaded.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "data.csv"
    assert saved.read_bytes() == CSV.encode()


def test_folders_upload_rename_and_delete(
    page: Page, opened: OpenNotebook, user: Client, tmp_path: Path
) -> None:
    opened([("code", "")])
    panel = files_panel(page)

    panel.get_by_role("button", name="New folder", exact=True).click()
    panel.get_by_role("textbox", name="New folder name").fill("raw")
    panel.get_by_role("button", name="Create", exact=True).click()
    folder = panel.get_by_role("button", name="raw", exact=True)
    expect(folder).to_have_attribute("aria-expanded", "false")

    notes = tmp_path / "notes.txt"
    notes.write_text("field notes\n")
    panel.locator("input[type=file][aria-label='Upload files']").set_input_files(notes)
    expect(panel.get_by_role("link", name="notes.txt", exact=True)).to_be_visible()

    panel.get_by_role("button", name="Rename notes.txt").click()
    path = panel.get_by_role("textbox", name="New path for notes.txt")
    path.fill("raw/notes.txt")
    path.press("Enter")
    expect(panel.get_by_role("status")).to_contain_text("Renamed notes.txt to raw/notes.txt")
    expect(folder).to_have_attribute("aria-expanded", "true")  # opened to show where it went
    expect(panel.locator('li[data-path="raw/notes.txt"]')).to_be_visible()
    folder.click()
    expect(panel.locator('li[data-path="raw/notes.txt"]')).to_have_count(0)

    panel.get_by_role("button", name="Delete raw", exact=True).click()
    page.locator("dialog.confirm").get_by_role("button", name="Delete", exact=True).click()
    expect(panel.get_by_role("status")).to_contain_text("Deleted raw")
    expect(folder).to_have_count(0)
    assert user.ok("GET", "/api/files")["entries"] == []


def test_a_large_upload_shows_its_progress(
    page: Page, opened: OpenNotebook, tmp_path: Path
) -> None:
    opened([("code", "")])
    panel = files_panel(page)

    def slowly(route: Route) -> None:
        """Hold the upload a moment, so that its progress line is seen before it ends."""
        page.wait_for_timeout(1500)
        route.continue_()

    page.route("**/api/files/upload*", slowly)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (8 * 1024 * 1024))
    panel.locator("input[type=file][aria-label='Upload files']").set_input_files(big)
    expect(panel.get_by_role("progressbar", name="Uploading big.bin")).to_be_visible()
    expect(panel.locator(".file-upload")).to_contain_text("big.bin")
    expect(panel.get_by_role("link", name="big.bin", exact=True)).to_be_visible(timeout=60_000)
    expect(panel.locator(".file-upload")).to_have_count(0)


def test_someone_elses_notebook_shows_a_note_not_files(
    site: Site, new_context: OpenContext, user: Client
) -> None:
    user.ok("PUT", "/api/files/upload?path=private.csv", 201, content=CSV.encode())
    notebook = make_notebook(user, [("code", "1 + 1")])
    viewer = site.sign_up()
    viewer.ok(
        "PUT", "/api/files/upload?path=viewers-own.csv", 201, content=b"not for this notebook"
    )
    user.ok(
        "PUT",
        f"/api/notebooks/{notebook['id']}/shares/{viewer.user['username']}",  # type: ignore[index]
        json={"role": "collaborator"},
    )
    page = new_context(viewer).new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    open_notebook(page, str(notebook["id"]))
    panel = files_panel(page)
    expect(panel.get_by_role("note")).to_contain_text("workspace of this notebook's owner")
    expect(panel.get_by_role("link")).to_have_count(0)
    expect(panel.get_by_text("private.csv")).to_have_count(0)
    expect(panel.get_by_text("viewers-own.csv")).to_have_count(0)
    assert not [url for url in asked if "/api/files" in url]


@pytest.fixture(scope="module")
def limited_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A `codenode run` of its own whose python type gives each workspace 16 MiB. Its backend
    is a real `codenode backend` process, run as root here: the limit is enforced."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("workspace images are loop-mounted: a backend run as root on Linux")
    home = tmp_path_factory.mktemp("codenode-limited")
    (home / "plugins").mkdir()  # codenode run keeps a plug-in folder that is there
    (home / "plugins" / "python.py").write_text(python_plugin(limits=Limits(workspace_mb=16)))
    running = Site(home)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def limited_user(limited_site: Site) -> Client:
    """A new account on the limited site."""
    return limited_site.sign_up()


@pytest.fixture
def limited_page(
    browser: Browser, limited_site: Site, limited_user: Client, watch: Watch
) -> Iterator[Page]:
    """A page on the limited site, signed in as ``limited_user``; watched as every page is."""
    context = browser.new_context(
        base_url=limited_site.url, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.on("page", watch.attach)
    context.add_cookies(session_cookies(limited_user))  # type: ignore[arg-type]
    yield context.new_page()
    context.close()
    problems = watch.unexpected()
    if problems:
        pytest.fail("problems in the browser:\n" + "\n".join(problems), pytrace=False)


def used(meter: Locator) -> int:
    """The bytes a space meter says are used."""
    return int(meter.get_attribute("aria-valuenow") or "-1")


def test_the_panel_shows_how_full_the_workspace_is_and_refuses_what_does_not_fit(
    limited_page: Page, limited_user: Client, watch: Watch, tmp_path: Path, screenshot: Shot
) -> None:
    page = limited_page
    open_notebook(page, str(make_notebook(limited_user, [("code", "")])["id"]))
    panel = files_panel(page)
    upload = panel.locator("input[type=file][aria-label='Upload files']")
    space = panel.locator(".files-space")
    meter = panel.get_by_role("meter", name="Workspace space used")
    expect(space).to_contain_text(re.compile(r"^[\d.]+ MiB of 16 MiB used$"))
    expect(meter).to_have_attribute("aria-valuemax", str(16 * MIB))
    expect(space).not_to_have_class(re.compile("nearly-full"))
    before = used(meter)

    data = tmp_path / "data.bin"
    data.write_bytes(b"d" * (2 * MIB))
    upload.set_input_files(data)
    expect(panel.get_by_role("link", name="data.bin", exact=True)).to_be_visible()
    # The listing after the upload says how full the workspace is now: 2 MiB more.
    expect(meter).not_to_have_attribute("aria-valuenow", str(before))
    assert used(meter) >= before + 2 * MIB

    watch.allow(r"status of 507")  # the refused upload, as Chromium logs it
    huge = tmp_path / "huge.bin"
    huge.write_bytes(b"h" * (24 * MIB))
    upload.set_input_files(huge)
    expect(panel.get_by_role("alert")).to_have_text(
        "the workspace is full (its size limit is 16 MiB): 'huge.bin' was not written;"
        " delete something and try again",
        timeout=60_000,
    )
    expect(panel.locator(".file-upload")).to_have_count(0)
    expect(panel.locator('li[data-path="huge.bin"]')).to_have_count(0)
    expect(panel.get_by_role("link", name="data.bin", exact=True)).to_be_visible()
    screenshot(page, "files-panel-refused")
    assert [e["name"] for e in limited_user.ok("GET", "/api/files")["entries"]] == ["data.bin"]

    # Filled to past 90%: the line and its bar warn.
    fill = tmp_path / "fill.bin"
    fill.write_bytes(b"f" * (int(0.95 * 16 * MIB) - used(meter)))
    upload.set_input_files(fill)
    expect(panel.get_by_role("status")).to_have_text("Uploaded fill.bin.")
    expect(space).to_have_class(re.compile("nearly-full"))
    expect(space).to_contain_text("of 16 MiB used: nearly full")
    screenshot(page, "files-panel-nearly-full")
