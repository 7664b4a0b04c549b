"""Every page loads without a console error or a CSP violation, light and dark, wide and
narrow; a screenshot of each is left in the output folder."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import OpenContext
from tests.ui.editor import open_notebook
from tests.ui.site import Site, make_notebook

# What each page shows once it is drawn.
SIGNED_OUT = {"/login": "input[name=username]", "/signup": "input[name=password2]"}
SIGNED_IN = {
    "/": "a.notebook-link",
    "/settings": "input",
    "/password": "input[type=password]",
}
SIZES = {"wide": {"width": 1280, "height": 800}, "narrow": {"width": 390, "height": 800}}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", SIZES)
def test_every_page_draws_cleanly(
    new_context: OpenContext, site: Site, scheme: str, size: str, screenshot
) -> None:
    admin = site.admin()
    notebook = make_notebook(
        admin,
        [
            ("title", "A tour"),
            ("markdown", "Some *text* and $x^2$"),
            ("code", "print('hello')\n1 + 1"),
        ],
        title="A tour",
    )
    context = new_context(color_scheme=scheme, viewport=SIZES[size])
    page = context.new_page()
    for path, drawn in SIGNED_OUT.items():
        page.goto(path)
        expect(page.locator(drawn)).to_be_visible()
        screenshot(page, f"{path.strip('/')}-{size}-{scheme}")

    signed_in = new_context(admin, color_scheme=scheme, viewport=SIZES[size]).new_page()
    for path, drawn in SIGNED_IN.items():
        signed_in.goto(path)
        expect(signed_in.locator(drawn).first).to_be_visible()
        screenshot(signed_in, f"{path.strip('/') or 'bookshelf'}-{size}-{scheme}")
    signed_in.goto("/admin")
    expect(signed_in.get_by_text("local").first).to_be_visible()  # the local backend
    screenshot(signed_in, f"admin-{size}-{scheme}")
    open_notebook(signed_in, str(notebook["id"]))
    signed_in.locator(".cell .cm-content").last.click()
    signed_in.keyboard.press("Control+Enter")
    expect(signed_in.locator(".cell .output", has_text="hello")).to_be_visible()
    screenshot(signed_in, f"notebook-{size}-{scheme}")
    # Nothing sticks out sideways on a narrow window.
    overflow = signed_in.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 1, f"the notebook page is {overflow}px wider than the window"


def test_keyboard_focus_is_visible(new_context: OpenContext, site: Site) -> None:
    page = new_context().new_page()
    page.goto("/login")
    page.locator("input[name=username]").wait_for()
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {tag: el.tagName, outline: style.outlineStyle, shadow: style.boxShadow};
        }"""
    )
    assert focused["tag"] != "BODY"
    assert focused["outline"] != "none" or focused["shadow"] != "none", focused
