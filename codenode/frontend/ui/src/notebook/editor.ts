// CodeMirror 6 for one cell, and the cheap stand-in drawn before it: highlighted static text
// with the same classes, so a 200-cell notebook paints at once and editors follow.
import { Annotation, ChangeSet, Compartment, EditorState, Text, type Extension } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap, tooltips, type KeyBinding } from "@codemirror/view";
import { bracketMatching, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { defaultKeymap, history, historyKeymap, indentLess, indentMore } from "@codemirror/commands";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, type CompletionSource } from "@codemirror/autocomplete";
import { python } from "@codemirror/lang-python";
import { classHighlighter } from "@lezer/highlight";
import type { CellKind } from "./types";

/** Marks a change that came from elsewhere (another tab, the server): not saved back. */
export const remote = Annotation.define<boolean>();

export interface EditorHooks {
  keys: KeyBinding[];
  complete: CompletionSource;
  onChange: (view: EditorView) => void;
  onFocus: (view: EditorView) => void;
  onBlur: (view: EditorView) => void;
}

const language = new Compartment();
const readOnly = new Compartment();

function languageFor(kind: CellKind): Extension {
  return kind === "code" ? python() : [];
}

function readOnlyFor(locked: boolean): Extension {
  return [EditorState.readOnly.of(locked), EditorView.editable.of(!locked)];
}

export function createEditor(parent: HTMLElement, doc: string, kind: CellKind, locked: boolean, hooks: EditorHooks): EditorView {
  const extensions: Extension[] = [
    keymap.of(hooks.keys), // first: the cell's keys win over the defaults
    history(),
    drawSelection(),
    highlightActiveLine(),
    indentOnInput(),
    indentUnit.of("    "),
    bracketMatching(),
    closeBrackets(),
    autocompletion({ override: [hooks.complete], activateOnTyping: false, defaultKeymap: true, icons: false }),
    // Cells are `content-visibility: auto` (paint containment): a tooltip inside one would be
    // clipped by its box, so the completion list is put in the body instead.
    tooltips({ parent: document.body }),
    syntaxHighlighting(classHighlighter),
    keymap.of([...closeBracketsKeymap, ...completionKeymap, ...historyKeymap, ...defaultKeymap]),
    EditorView.lineWrapping,
    language.of(languageFor(kind)),
    readOnly.of(readOnlyFor(locked)),
    EditorView.contentAttributes.of({ "aria-label": "Cell input" }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged && !update.transactions.some((tr) => tr.annotation(remote))) hooks.onChange(update.view);
      if (update.focusChanged) (update.view.hasFocus ? hooks.onFocus : hooks.onBlur)(update.view);
    }),
  ];
  return new EditorView({ parent, state: EditorState.create({ doc, extensions }) });
}

export function setEditorKind(view: EditorView, kind: CellKind): void {
  view.dispatch({ effects: language.reconfigure(languageFor(kind)) });
}

export function setEditorLocked(view: EditorView, locked: boolean): void {
  view.dispatch({ effects: readOnly.reconfigure(readOnlyFor(locked)) });
}

/** The smallest single change that turns *old* into *source*. */
function difference(old: string, source: string): { from: number; to: number; insert: string } {
  let start = 0;
  const shortest = Math.min(old.length, source.length);
  while (start < shortest && old.charCodeAt(start) === source.charCodeAt(start)) start++;
  let oldEnd = old.length;
  let newEnd = source.length;
  while (oldEnd > start && newEnd > start && old.charCodeAt(oldEnd - 1) === source.charCodeAt(newEnd - 1)) {
    oldEnd--;
    newEnd--;
  }
  return { from: start, to: oldEnd, insert: source.slice(start, newEnd) };
}

/** Their change (base → theirs) as it applies to ours (base → local): both edits kept. */
function theirChange(base: string, local: string, theirs: string): ChangeSet {
  const ours = ChangeSet.of([difference(base, local)], base.length);
  return ChangeSet.of([difference(base, theirs)], base.length).map(ours, true);
}

/** Text merge of two edits of *base* (for cells without an editor). */
export function mergeText(base: string, local: string, theirs: string): string {
  if (local === base) return theirs;
  return theirChange(base, local, theirs).apply(Text.of(local.split("\n"))).toString();
}

/** Another tab's edit (base → theirs) into the editor, keeping the edits made here since
 *  base and the cursor: changes are mapped, not the text replaced. */
export function mergeIntoEditor(view: EditorView, base: string, theirs: string): void {
  const local = view.state.doc.toString();
  if (local === theirs) return;
  const changes = local === base ? ChangeSet.of([difference(local, theirs)], local.length) : theirChange(base, local, theirs);
  view.dispatch({ changes, annotations: remote.of(true) });
}

/** Tab: indent at the start of a line or over a selection, else ask for completions. */
export function tabCommand(complete: (view: EditorView) => boolean) {
  return (view: EditorView): boolean => {
    const range = view.state.selection.main;
    if (!range.empty) return indentMore(view);
    const line = view.state.doc.lineAt(range.head);
    const before = line.text.slice(0, range.head - line.from);
    if (/^\s*$/.test(before)) {
      view.dispatch(view.state.replaceSelection("    "));
      return true;
    }
    return complete(view);
  };
}

export { indentLess };

/** The static stand-in: the source as plain text (highlighting comes with the editor, in
 *  the first idle moments after the page is drawn). */
export function staticCode(source: string): HTMLElement {
  const stand = document.createElement("div");
  stand.className = "cm-static";
  stand.textContent = source || "\u200b"; // an empty cell stays one line tall
  return stand;
}
