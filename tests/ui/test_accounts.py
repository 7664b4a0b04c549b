"""Signing up, signing in, and the first notebook: the path a new person takes."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

from tests.frontend.live import PASSWORD
from tests.ui.conftest import OpenContext, Watch
from tests.ui.editor import cell, output
from tests.ui.site import Site


def test_sign_up_then_new_notebook_then_2_plus_2(
    new_context: OpenContext, site: Site, screenshot
) -> None:
    page = new_context().new_page()
    page.goto("/signup")
    screenshot(page, "signup")
    page.fill("input[name=username]", f"newcomer{secrets.token_hex(3)}")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    page.get_by_role("button", name="New notebook").click()
    dialog = page.locator("dialog.new-notebook")
    expect(dialog).to_be_visible()
    dialog.locator("input[name=title]").fill("Arithmetic")
    expect(dialog.locator("select[name=engine_type] option[value=python]")).to_have_count(1)
    dialog.locator("select[name=engine_type]").select_option("python")
    screenshot(page, "new-notebook")
    dialog.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/notebooks/[^/]+$"))

    first = cell(page, 0)
    first.locator(".cm-content").click()
    page.keyboard.type("2+2")
    page.keyboard.press("Shift+Enter")
    expect(output(page, 0)).to_have_text("4")
    expect(first).to_have_attribute("data-state", "idle")
    expect(first.locator(".prompt")).to_contain_text("1")
    expect(first.locator(".outputs")).to_have_attribute("data-out", "Out [1]")
    # Shift+Enter moves on, making a new cell at the end.
    expect(page.locator(".cell")).to_have_count(2)
    expect(page.locator(".save-state")).to_have_text("Saved")
    screenshot(page, "notebook")

    page.goto("/")
    expect(page.locator("a.notebook-link", has_text="Arithmetic")).to_have_count(1)
    screenshot(page, "bookshelf")


def test_sign_in_with_a_wrong_password_says_so(
    new_context: OpenContext, site: Site, watch: Watch, screenshot
) -> None:
    name = site.sign_up().user["username"]  # type: ignore[index]
    watch.allow(r"status of 401")  # the failed POST /api/login
    page = new_context().new_page()
    page.goto("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", "not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error-message")).to_be_visible()
    expect(page.locator(".error-message")).to_have_attribute("role", "alert")
    screenshot(page, "login-error")

    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="New notebook")).to_be_visible()


def test_pages_need_a_signed_in_user(new_context: OpenContext, site: Site, screenshot) -> None:
    page = new_context().new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("input[name=username]")).to_be_visible()
    screenshot(page, "login")
