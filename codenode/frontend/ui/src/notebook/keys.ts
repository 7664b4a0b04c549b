// The keyboard: edit mode (in a cell's editor) and command mode (a cell selected, no editor
// focused), as in other notebooks; `h` shows them all.
import type { KeyBinding } from "@codemirror/view";
import type { EditorView } from "@codemirror/view";
import { acceptCompletion, completionStatus, startCompletion } from "@codemirror/autocomplete";
import { FIRST_KEYS, indentLess, tabCommand } from "./editor";
import type { CellKind } from "./types";

export type Advance = "next" | "stay" | "insert";

/** What the keys do, given the editor's view (edit mode) or nothing (command mode). */
export interface KeyActions {
  run(view: EditorView | null, advance: Advance): void;
  introspect(view: EditorView): void;
  leave(view: EditorView, direction: -1 | 1): boolean;
  commandMode(view: EditorView): void;
}

export interface CommandActions {
  edit(): void;
  select(by: -1 | 1): void;
  run(advance: Advance): void;
  insert(where: "above" | "below"): void;
  remove(): void;
  kind(kind: CellKind): void;
  copy(): void;
  cut(): void;
  paste(): void;
  move(by: -1 | 1): void;
  help(): void;
}

const completing = (view: EditorView) => completionStatus(view.state) !== null;

/** Keys inside a cell's editor. */
export function editKeys(actions: KeyActions): KeyBinding[] {
  return [
    // The run keys are taken before CodeMirror's own key handling (FIRST_KEYS, editor.ts).
    { key: "Shift-Enter", scope: FIRST_KEYS, run: (view) => (actions.run(view, "next"), true) },
    { key: "Ctrl-Enter", mac: "Mod-Enter", scope: FIRST_KEYS, run: (view) => (actions.run(view, "stay"), true) },
    { key: "Alt-Enter", scope: FIRST_KEYS, run: (view) => (actions.run(view, "insert"), true) },
    {
      key: "Tab",
      run: (view) => (completionStatus(view.state) === "active" ? acceptCompletion(view) : tabCommand(startCompletion)(view)),
    },
    {
      key: "Shift-Tab",
      run: (view) => {
        if (!view.state.selection.main.empty) return indentLess(view);
        actions.introspect(view);
        return true;
      },
    },
    {
      key: "ArrowUp",
      run: (view) => {
        const range = view.state.selection.main;
        if (completing(view) || !range.empty || view.state.doc.lineAt(range.head).number !== 1) return false;
        return actions.leave(view, -1);
      },
    },
    {
      key: "ArrowDown",
      run: (view) => {
        const range = view.state.selection.main;
        const doc = view.state.doc;
        if (completing(view) || !range.empty || doc.lineAt(range.head).number !== doc.lines) return false;
        return actions.leave(view, 1);
      },
    },
    {
      key: "Escape",
      run: (view) => {
        if (completing(view)) return false; // the popup closes first
        actions.commandMode(view);
        return true;
      },
    },
  ];
}

/** A key pressed in command mode; true if it was a command. */
/** Two presses of `d` within this many ms make `d d`. */
export const PAIR_MS = 800;

/** The first key of a pair (`d d`), and when it was pressed; null after any other key. */
export interface PairState {
  lastD: number | null;
}

export function commandKey(event: KeyboardEvent, actions: CommandActions, locked: boolean, state: PairState): boolean {
  const { key } = event;
  const plain = !event.ctrlKey && !event.metaKey && !event.altKey;
  const firstD = state.lastD;
  if (key !== "d") state.lastD = null;
  if (key === "Enter") {
    if (event.shiftKey) actions.run("next");
    else if (event.ctrlKey || event.metaKey) actions.run("stay");
    else if (event.altKey) actions.run("insert");
    else actions.edit();
    return true;
  }
  if (!plain) return false;
  if (key === "ArrowUp" || key === "k") return actions.select(-1), true;
  if (key === "ArrowDown" || key === "j") return actions.select(1), true;
  if (key === "h") return actions.help(), true;
  if (key === "c") return actions.copy(), true;
  if (locked) return false;
  switch (key) {
    case "a":
      actions.insert("above");
      return true;
    case "b":
      actions.insert("below");
      return true;
    case "d": {
      // The time stamp counts from the page's start: the first `d` is never the second.
      const now = event.timeStamp;
      if (firstD !== null && now - firstD < PAIR_MS) {
        state.lastD = null;
        actions.remove();
      } else state.lastD = now;
      return true;
    }
    case "x":
      actions.cut();
      return true;
    case "v":
      actions.paste();
      return true;
    case "m":
      actions.kind("markdown");
      return true;
    case "y":
      actions.kind("code");
      return true;
    case "1":
    case "2":
    case "3":
    case "4":
      actions.kind((["title", "subtitle", "section", "subsection"] as const)[Number(key) - 1]);
      return true;
    case "K":
      actions.move(-1);
      return true;
    case "J":
      actions.move(1);
      return true;
  }
  return false;
}

export const HELP: [string, [string, string][]][] = [
  [
    "Edit mode (typing in a cell)",
    [
      ["Shift+Enter", "run, then the next cell (a new one at the end)"],
      ["Ctrl+Enter", "run in place"],
      ["Alt+Enter", "run, then insert a cell below"],
      ["Tab", "complete (indent at the start of a line)"],
      ["Shift+Tab", "what the name at the cursor is"],
      ["name?", "as a whole cell: the same, run with Shift+Enter"],
      ["↑ / ↓", "at the first / last line: the cell above / below"],
      ["Esc", "command mode"],
    ],
  ],
  [
    "Command mode (a cell selected)",
    [
      ["Enter", "edit the cell"],
      ["↑ / ↓ or k / j", "select the cell above / below"],
      ["a / b", "insert a cell above / below"],
      ["d d", "delete the cell"],
      ["x / c / v", "cut / copy / paste below"],
      ["Shift+K / Shift+J", "move the cell up / down"],
      ["m / y", "make it text (markdown) / code"],
      ["1 2 3 4", "make it a title / subtitle / section / subsection"],
      ["Shift+Enter", "run, then the next cell"],
      ["h", "this help"],
    ],
  ],
];
