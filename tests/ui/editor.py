"""What a person does on the notebook page, in the terms of the UI's selector contract."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


def open_notebook(page: Page, notebook_id: str) -> None:
    """Go to the notebook and wait until its first cell can be edited."""
    page.goto(f"/notebooks/{notebook_id}")
    page.locator(".cell .cm-content").first.wait_for()


def cell(page: Page, index: int) -> Locator:
    """The cell at *index* (from 0), in page order."""
    return page.locator(".cell").nth(index)


def editor(page: Page, index: int) -> Locator:
    """The CodeMirror content of the cell at *index*."""
    return cell(page, index).locator(".cm-content")


def type_into(page: Page, index: int, text: str) -> None:
    """Put the cursor at the end of the cell at *index* and type *text*, key by key."""
    editor(page, index).click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def output(page: Page, index: int, text: str | None = None) -> Locator:
    """The first output of the cell at *index* (that contains *text*, if given)."""
    outputs = cell(page, index).locator(".output")
    return (outputs if text is None else outputs.filter(has_text=text)).first


def outputs_text(page: Page, index: int) -> str:
    """All the output of the cell at *index*, as text."""
    return "\n".join(cell(page, index).locator(".output").all_inner_texts())


def start_engine(page: Page) -> None:
    """Run ``pass`` in a new cell at the end, so that the notebook's engine is up."""
    page.get_by_role("button", name="Add cell", exact=True).click()
    last = page.locator(".cell").last
    last.locator(".cm-content").click()
    page.keyboard.type("pass")
    page.keyboard.press("Control+Enter")
    expect(last.locator(".prompt")).to_contain_text("1")
    expect(page.locator(".engine-state")).to_contain_text("idle")


def toolbar(page: Page, label: str) -> Locator:
    """The toolbar button with this aria-label ("Interrupt", "Share", ...)."""
    return page.get_by_role("button", name=label, exact=True)
