"""Bugs of the notebook page found by a JupyterLab user, each reproduced as they met it."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.frontend.live import Client
from tests.ui.conftest import OpenNotebook
from tests.ui.editor import cell, editor, output, type_into
from tests.ui.site import make_notebook


def sent_ops(page: Page) -> list[str]:
    """The ops this page sends on its bus from now on, in order (a list that grows)."""
    ops: list[str] = []

    def on_frame(payload: str | bytes) -> None:
        ops.append(json.loads(payload).get("op", ""))

    page.on("websocket", lambda socket: socket.on("framesent", on_frame))
    return ops


def test_d_d_right_after_loading_deletes_one_cell(page: Page, user: Client) -> None:
    # The first presses come well within 0.8 s of the page's start: each `d` must not count
    # as the second of a pair.
    notebook = make_notebook(user, [("code", "a = 1"), ("code", "b = 2"), ("code", "c = 3")])
    ops = sent_ops(page)
    page.goto(f"/notebooks/{notebook['id']}")
    page.locator(".cell").nth(2).wait_for()
    page.locator(".cell").first.focus()
    page.keyboard.press("d")
    page.keyboard.press("d")
    expect(page.locator(".cell")).to_have_count(2)
    page.wait_for_timeout(300)
    assert ops.count("delete_cell") == 1, ops
    expect(page.locator(".cell")).to_have_count(2)
    # One `d` alone deletes nothing, nor a `d` after another key then `d`.
    page.keyboard.press("d")
    page.keyboard.press("j")
    page.keyboard.press("d")
    page.wait_for_timeout(300)
    assert ops.count("delete_cell") == 1, ops


def test_completion_list_is_not_clipped_by_the_cell(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "for i in range(100): globals()[f'zz{i:03d}'] = i"), ("code", "")])
    editor(page, 0).click()
    page.keyboard.press("Control+Enter")
    expect(cell(page, 0).locator(".prompt")).to_have_text("In [1]")
    type_into(page, 1, "zz")
    page.keyboard.press("Tab")
    popup = page.locator(".cm-tooltip-autocomplete")
    expect(popup).to_be_visible()
    expect(popup.get_by_role("option")).to_have_count(100)
    # Options a person can see (and click): those the page hit-tests at their centre.
    seen = popup.evaluate(
        """popup => [...popup.querySelectorAll('[role=option]')].filter(option => {
            const box = option.getBoundingClientRect();
            const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
            return hit !== null && option.contains(hit);
        }).length"""
    )
    assert seen >= 6, f"only {seen} of 100 completions can be seen"


def test_shortcuts_dialog_is_centred(page: Page, opened: OpenNotebook) -> None:
    opened([("code", "")])
    page.get_by_role("button", name="Keyboard shortcuts").click()
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None
    width = page.viewport_size["width"]  # type: ignore[index]
    left, right = box["x"], width - box["x"] - box["width"]
    assert abs(left - right) <= 2, f"{left}px on the left, {right}px on the right"
    assert box["y"] > 8, box


ASK = "name = input('Who? ')\nprint('hello', name)"


def warm_up(page: Page) -> None:
    """Run the first cell, so that the engine answers at once (as it does after a first run)."""
    editor(page, 0).click()
    page.keyboard.press("Control+Enter")
    expect(cell(page, 0).locator(".prompt")).to_have_text("In [1]")


def test_focus_goes_to_the_input_then_back_where_the_person_was(
    page: Page, opened: OpenNotebook
) -> None:
    opened([("code", "x = 1"), ("code", ASK), ("code", "y = 2")])
    warm_up(page)
    editor(page, 1).click()
    page.keyboard.press("Shift+Enter")  # run, then on to the next cell
    field = cell(page, 1).locator(".input-request input")
    expect(field).to_be_focused()
    page.wait_for_timeout(200)  # nothing takes the focus away while it waits
    expect(field).to_be_focused()
    page.keyboard.type("Ada")
    page.keyboard.press("Enter")
    expect(output(page, 1, "hello Ada")).to_be_visible()
    # Back where Shift+Enter took the person: the next cell, not the asking one.
    expect(editor(page, 2)).to_be_focused()


def test_input_answered_with_ctrl_enter_returns_to_the_cell(
    page: Page, opened: OpenNotebook
) -> None:
    opened([("code", "x = 1"), ("code", ASK), ("code", "y = 2")])
    warm_up(page)
    editor(page, 1).click()
    page.keyboard.press("Control+Enter")  # run in place
    field = cell(page, 1).locator(".input-request input")
    expect(field).to_be_focused()
    page.keyboard.type("Ada")
    page.keyboard.press("Enter")
    expect(output(page, 1, "hello Ada")).to_be_visible()
    expect(editor(page, 1)).to_be_focused()


def test_each_cell_has_a_name_that_says_which_and_what(page: Page, opened: OpenNotebook) -> None:
    opened([("markdown", "Some *text*"), ("code", "1 + 1"), ("section", "Part A")])
    expect(page.get_by_role("region", name="Cell 1, markdown", exact=True)).to_be_visible()
    code = page.get_by_role("region", name="Cell 2, code, not run", exact=True)
    expect(code).to_be_visible()
    expect(page.get_by_role("region", name="Cell 3, section heading", exact=True)).to_be_visible()
    editor(page, 1).click()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("region", name="Cell 2, code, ran [1]", exact=True)).to_be_visible()
    # Numbers follow the order: a cell above renumbers the rest.
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.get_by_role("region", name="Cell 3, code, ran [1]", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Cell 2, code, not run", exact=True)).to_be_visible()
