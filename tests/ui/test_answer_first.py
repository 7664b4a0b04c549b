"""A run's answer comes first: between a run key and the cell's first answer the page changes
nothing on screen, and no CSS animation runs while an editor has the focus (the cursor blinks
by a timer). Either would make Chromium hold the bus's messages back until a frame is drawn
(docs/benchmarks.md, "Browser UI")."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import OpenNotebook
from tests.ui.editor import cell, editor, output

# From the next run key on, every change to the page in the following 40 ms, the cursor's
# blink aside.
WATCH_CHANGES = """
() => {
  const changes = window.__changes = [];
  let since = null;
  window.addEventListener('keydown', (event) => {
    const run = event.key === 'Enter' && (event.shiftKey || event.ctrlKey || event.altKey);
    if (run && since === null) since = performance.now();
  }, true);
  new MutationObserver((records) => {
    if (since === null || performance.now() - since > 40) return;
    for (const record of records) {
      const target = record.target instanceof Element ? record.target : record.target.parentElement;
      if (target && target.closest('.cm-cursorLayer')) continue;
      const where = target ? target.className : '';
      changes.push(`${record.type} ${where} ${record.attributeName || ''}`);
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             characterData: true});
}
"""

SLOW_ANSWER = "import time\ntime.sleep(0.5)\n2+2"


@pytest.mark.parametrize("key", ["Shift+Enter", "Control+Enter", "Alt+Enter"])
def test_a_run_key_changes_nothing_on_screen_before_the_answer(
    page: Page, opened: OpenNotebook, key: str
) -> None:
    opened([("code", SLOW_ANSWER), ("code", "")])
    editor(page, 0).click()
    page.keyboard.press("Control+Enter")  # the engine started, an old answer in place
    expect(output(page, 0, "4")).to_be_visible()
    expect(cell(page, 0)).to_have_attribute("data-state", "idle")
    page.wait_for_timeout(300)  # the page's own drawing is done
    page.evaluate(WATCH_CHANGES)
    page.keyboard.press(key)
    page.wait_for_timeout(100)
    assert page.evaluate("window.__changes") == []
    # Then everything happens as before: the cell runs, shows its answer, and the key's move.
    expect(cell(page, 0)).to_have_attribute("data-state", "running")
    expect(output(page, 0, "4")).to_be_visible()
    expect(cell(page, 0)).to_have_attribute("data-state", "idle")
    expect(page.locator(".save-state")).to_have_text("Saved")
    if key == "Shift+Enter":
        expect(editor(page, 1)).to_be_focused()
    elif key == "Alt+Enter":
        expect(page.locator(".cell")).to_have_count(3)
        expect(editor(page, 1)).to_be_focused()
    else:
        expect(editor(page, 0)).to_be_focused()


def test_the_cursor_blinks_without_a_css_animation(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "x = 1")])
    editor(page, 0).click()
    layer = cell(page, 0).locator(".cm-cursorLayer")
    expect(layer.locator(".cm-cursor-primary")).to_have_count(1)
    expect(layer).to_have_css("visibility", "hidden")
    expect(layer).to_have_css("visibility", "visible")
    assert page.evaluate("document.getAnimations().length") == 0
    # Typing shows the cursor at once, hidden or not a moment before.
    expect(layer).to_have_css("visibility", "hidden")
    page.keyboard.type("2")
    assert layer.evaluate("(element) => getComputedStyle(element).visibility") == "visible"
