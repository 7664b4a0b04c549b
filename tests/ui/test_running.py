"""Running code from the notebook page: streaming, interrupt, rich output, help while typing."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.ui.conftest import OpenNotebook, Watch
from tests.ui.editor import cell, editor, output, outputs_text, start_engine, toolbar, type_into

TICKS = "import time\nfor i in range(8):\n    print('tick', i, flush=True)\n    time.sleep(0.4)\n"


def run_first_cell(page: Page) -> None:
    editor(page, 0).click()
    page.keyboard.press("Shift+Enter")


def test_print_loop_streams_before_it_finishes(page: Page, opened: OpenNotebook) -> None:
    opened([("code", TICKS)])
    run_first_cell(page)
    running = cell(page, 0)
    # The first lines show while the cell still runs, the last one not yet printed.
    page.wait_for_function(
        """() => {
            const cell = document.querySelector('.cell');
            const text = [...cell.querySelectorAll('.output-stream')].map(e => e.textContent);
            return cell.dataset.state === 'running' && text.join('').includes('tick 1');
        }"""
    )
    assert "tick 7" not in outputs_text(page, 0)
    expect(output(page, 0, "tick 7")).to_be_visible()
    expect(running).to_have_attribute("data-state", "idle")


def test_stderr_is_styled_apart(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)")])
    run_first_cell(page)
    outputs = cell(page, 0)
    expect(outputs.locator(".output-stream.stderr")).to_contain_text("to stderr")
    expect(outputs.locator(".output-stream:not(.stderr)")).to_contain_text("to stdout")


def test_an_error_shows_as_a_traceback(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "1/0")])
    run_first_cell(page)
    expect(cell(page, 0).locator(".output-error")).to_contain_text("ZeroDivisionError")


def test_interrupt_stops_an_endless_loop(page: Page, opened: OpenNotebook, screenshot) -> None:
    opened([("code", "while True: pass")])
    run_first_cell(page)
    expect(cell(page, 0)).to_have_attribute("data-state", "running")
    expect(page.locator(".engine-state")).to_contain_text("busy")
    screenshot(page, "running")
    toolbar(page, "Interrupt").click()
    expect(cell(page, 0).locator(".output-error")).to_contain_text("KeyboardInterrupt")
    expect(cell(page, 0)).to_have_attribute("data-state", "idle")
    expect(page.locator(".engine-state")).to_contain_text("idle")


def test_matplotlib_plot_appears_as_an_image(page: Page, opened: OpenNotebook, screenshot) -> None:
    opened([("code", "import matplotlib.pyplot as plt\nplt.plot([1, 4, 2, 3])\nplt.show()")])
    run_first_cell(page)
    image = cell(page, 0).locator(".output img")
    expect(image).to_be_visible(timeout=40_000)  # importing matplotlib takes a while
    assert image.evaluate("img => img.complete && img.naturalWidth > 100")
    assert (image.get_attribute("src") or "").startswith(("data:image/png", "blob:"))
    screenshot(page, "plot")


def test_html_output_is_sandboxed(page: Page, opened: OpenNotebook, watch: Watch) -> None:
    watch.allow(r"Blocked script execution in 'about:srcdoc'")  # the sandbox at work
    source = (
        "class Page:\n"
        "    def _repr_html_(self):\n"
        "        return '<b id=bold>bold</b><script>parent.document.title=\"owned\"</script>'\n"
        "Page()"
    )
    opened([("code", source)])
    run_first_cell(page)
    frame = cell(page, 0).locator(".output iframe[sandbox]")
    expect(frame).to_have_count(1)
    assert "allow-same-origin" not in (frame.get_attribute("sandbox") or "")
    expect(frame.content_frame.locator("#bold")).to_have_text("bold")
    assert page.title() != "owned"


def test_tab_completes_import_o_with_os(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "")])
    start_engine(page)
    type_into(page, 0, "import o")
    page.keyboard.press("Tab")
    popup = page.locator(".cm-tooltip-autocomplete")
    expect(popup).to_be_visible()
    expect(popup.get_by_role("option", name="os", exact=True)).to_have_count(1)


def test_tab_indents_where_nothing_completes(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "")])
    type_into(page, 0, "")
    page.keyboard.press("Tab")
    page.keyboard.type("x")
    expect(editor(page, 0).locator(".cm-line").first).to_have_text(re.compile(r"^\s{2,}x$"))
    expect(page.locator(".cm-tooltip-autocomplete")).to_have_count(0)


def test_len_question_mark_shows_introspection(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "")])
    start_engine(page)
    type_into(page, 0, "len?")
    page.keyboard.press("Shift+Enter")
    panel = page.locator(".introspection")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(re.compile(r"number of items", re.I))


def test_shift_tab_shows_introspection(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "")])
    start_engine(page)
    type_into(page, 0, "len")
    page.keyboard.press("Shift+Tab")
    expect(page.locator(".introspection")).to_contain_text(re.compile(r"number of items", re.I))


def test_input_shows_an_inline_prompt(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "name = input('Who? ')\nprint('hello', name)")])
    run_first_cell(page)
    field = cell(page, 0).locator(".input-request input")
    expect(field).to_be_visible()
    field.fill("Ada")
    field.press("Enter")
    expect(output(page, 0, "hello Ada")).to_be_visible()


def test_reload_mid_run_keeps_the_output(page: Page, opened: OpenNotebook) -> None:
    opened([("code", TICKS)])
    run_first_cell(page)
    expect(output(page, 0, "tick 2")).to_be_visible()
    page.reload()
    page.locator(".cell .cm-content").first.wait_for()
    # What was printed before the reload is there, and the rest streams in after it.
    expect(output(page, 0, "tick 0")).to_be_visible()
    expect(output(page, 0, "tick 7")).to_be_visible()
    text = outputs_text(page, 0)
    assert [f"tick {i}" in text for i in range(8)] == [True] * 8, text
    expect(cell(page, 0)).to_have_attribute("data-state", "idle")


def test_run_keys(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "1+1"), ("code", "2+2")])
    # Ctrl+Enter runs in place: no new cell, focus stays.
    editor(page, 0).click()
    page.keyboard.press("Control+Enter")
    expect(output(page, 0, "2")).to_be_visible()
    expect(page.locator(".cell")).to_have_count(2)
    # Alt+Enter runs and inserts a cell below.
    editor(page, 1).click()
    page.keyboard.press("Alt+Enter")
    expect(output(page, 1, "4")).to_be_visible()
    expect(page.locator(".cell")).to_have_count(3)
    page.keyboard.type("3+3")
    page.keyboard.press("Shift+Enter")
    expect(output(page, 2, "6")).to_be_visible()


def test_completion_works_before_anything_ran(page: Page, opened: OpenNotebook) -> None:
    # A person opens a notebook and types: completion must not wait for a first run.
    opened([("code", "")])
    type_into(page, 0, "import o")
    page.keyboard.press("Tab")
    popup = page.locator(".cm-tooltip-autocomplete")
    expect(popup.get_by_role("option", name="os", exact=True)).to_have_count(1)
