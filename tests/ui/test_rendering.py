"""Markdown, math and headings in the notebook page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.ui.conftest import OpenNotebook, Watch
from tests.ui.editor import cell, editor

MARKDOWN = "Kepler's *third* law: $T^2 \\propto a^3$\n\n$$\\int_0^1 x\\,dx = \\frac{1}{2}$$"


def test_markdown_with_math_renders(page: Page, opened: OpenNotebook, screenshot) -> None:
    opened([("markdown", MARKDOWN), ("code", "")])
    rendered = cell(page, 0).locator(".markdown-rendered")
    expect(rendered).to_be_visible()
    expect(rendered.locator("em")).to_have_text("third")
    expect(rendered.locator(".katex")).to_have_count(2)
    expect(rendered.locator(".katex-display")).to_have_count(1)
    screenshot(page, "markdown")


def test_markdown_typed_and_run_renders(page: Page, opened: OpenNotebook) -> None:
    opened([("markdown", ""), ("code", "")])
    cell(page, 0).locator(".markdown-rendered").dblclick()  # then type at once
    page.keyboard.type("Some **bold** and $e^{i\\pi}$")
    page.keyboard.press("Shift+Enter")
    rendered = cell(page, 0).locator(".markdown-rendered")
    expect(rendered.locator("strong")).to_have_text("bold")
    expect(rendered.locator(".katex")).to_have_count(1)


def test_markdown_cannot_run_script(page: Page, opened: OpenNotebook, watch: Watch) -> None:
    # DOMPurify removes the handler; Chromium still reports that the CSP blocked it while
    # parsing the text to sanitize it (an inert document): expected here, and harmless.
    watch.allow(r"Executing inline event handler violates")
    hostile = (
        "<img src=data:,x onerror=\"document.title='owned'\">"
        ' <script>document.title="owned"</script> ok'
    )
    opened([("markdown", hostile), ("code", "")])
    rendered = cell(page, 0).locator(".markdown-rendered")
    expect(rendered).to_contain_text("ok")
    expect(rendered.locator("script")).to_have_count(0)
    images = rendered.locator("img")
    assert images.evaluate_all("all => all.every(i => !i.hasAttribute('onerror'))")
    assert page.title() != "owned"


def test_markdown_cannot_restyle_the_page(page: Page, opened: OpenNotebook) -> None:
    hostile = (
        '<div class="cover" style="position:fixed;inset:0;z-index:9999;background:red">'
        "Sign in again</div>\n\n<style>body { display: none }</style>\n\n"
        "and $\\rule{100000em}{100000em}$ and $x^2$"
    )
    opened([("markdown", hostile), ("code", "")])
    rendered = cell(page, 0).locator(".markdown-rendered")
    expect(rendered).to_contain_text("Sign in again")
    cover = rendered.locator(".cover")
    assert cover.get_attribute("style") is None
    assert cover.evaluate("e => getComputedStyle(e).position") == "static"
    expect(rendered.locator("style")).to_have_count(0)
    assert page.evaluate("getComputedStyle(document.body).display") != "none"
    # Math keeps the styles KaTeX lays it out with, within bounds.
    expect(rendered.locator(".katex")).to_have_count(2)
    box = rendered.locator(".katex").first.bounding_box()
    assert box is not None and box["height"] < 2000, box


def test_heading_folds_the_cells_under_it(page: Page, opened: OpenNotebook) -> None:
    opened(
        [
            ("section", "Part A"),
            ("code", "a = 1"),
            ("subsection", "A.1"),
            ("code", "b = 2"),
            ("section", "Part B"),
            ("code", "c = 3"),
        ]
    )
    toggle = cell(page, 0).locator(".fold-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    for hidden in (1, 2, 3):
        expect(cell(page, hidden)).to_be_hidden()
    for shown in (4, 5):
        expect(cell(page, shown)).to_be_visible()
    toggle.click()
    for index in range(6):
        expect(cell(page, index)).to_be_visible()


def test_cell_buttons_add_move_and_delete(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "first"), ("code", "second")])
    editor(page, 0).click()
    page.get_by_role("button", name="Move cell down", exact=True).click()
    expect(editor(page, 0)).to_have_text("second")
    expect(editor(page, 1)).to_have_text("first")
    page.get_by_role("button", name="Add cell", exact=True).click()
    expect(page.locator(".cell")).to_have_count(3)
    page.get_by_role("button", name="Delete cell", exact=True).click()
    expect(page.locator(".cell")).to_have_count(2)


def test_command_mode_keys(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "x = 1")])
    editor(page, 0).click()
    page.keyboard.press("Escape")  # command mode
    page.keyboard.press("b")  # a cell below
    expect(page.locator(".cell")).to_have_count(2)
    page.keyboard.press("m")  # made markdown
    expect(cell(page, 1)).to_have_attribute("data-kind", "markdown")
    page.keyboard.press("d")
    page.keyboard.press("d")  # deleted
    expect(page.locator(".cell")).to_have_count(1)
    page.keyboard.press("h")  # help overlay
    expect(page.get_by_text("Shift+Enter").first).to_be_visible()
