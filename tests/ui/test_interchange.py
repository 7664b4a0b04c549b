"""Export a notebook as .ipynb from its page, import the file back from the bookshelf."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.frontend.live import Client
from tests.ui.conftest import OpenNotebook
from tests.ui.editor import editor, toolbar


def test_export_ipynb_and_import_it_back(
    page: Page, opened: OpenNotebook, user: Client, tmp_path: Path, screenshot
) -> None:
    title = f"Orbits {secrets.token_hex(3)}"
    original = opened(
        [("markdown", "Kepler's *third* law"), ("code", "period = 365.25")], title=title
    )
    with page.expect_download() as download:
        toolbar(page, "Export").click()
        # Export may offer a choice of formats first.
        choice = page.get_by_role("menuitem", name=re.compile(r"ipynb", re.I))
        if choice.count() == 0:
            choice = page.get_by_role("link", name=re.compile(r"ipynb", re.I))
        if choice.count() == 0:
            choice = page.get_by_role("button", name=re.compile(r"ipynb", re.I))
        if choice.count():
            choice.first.click()
    path = tmp_path / (download.value.suggested_filename or "exported.ipynb")
    download.value.save_as(path)
    assert path.suffix == ".ipynb"
    exported = json.loads(path.read_text())
    assert exported["nbformat"] == 4
    sources = ["".join(c["source"]) for c in exported["cells"]]
    assert sources == ["Kepler's *third* law", "period = 365.25"]

    page.goto("/")
    page.locator("input[type=file][aria-label='Import notebook']").set_input_files(path)
    # The imported notebook is on the shelf beside the original (or opened at once).
    imported = page.locator("a.notebook-link", has_text=title)
    expect(imported.or_(page.locator(".cell"))).not_to_have_count(0)
    screenshot(page, "imported")
    notebooks = user.ok("GET", "/api/notebooks")["notebooks"]
    copies = [n for n in notebooks if n["title"] == title]
    assert len(copies) == 2, notebooks
    copy = next(n for n in copies if n["id"] != original["id"])
    page.goto(f"/notebooks/{copy['id']}")
    expect(editor(page, 1)).to_have_text("period = 365.25")
    expect(page.locator(".cell").first).to_have_attribute("data-kind", "markdown")
