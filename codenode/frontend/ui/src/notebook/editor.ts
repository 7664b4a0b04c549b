// CodeMirror 6 for one cell, and the cheap stand-in drawn before it: highlighted static text
// with the same classes, so a 200-cell notebook paints at once and editors follow.
import { Annotation, ChangeSet, Compartment, EditorState, Text, type Extension } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap, runScopeHandlers, tooltips, type KeyBinding } from "@codemirror/view";
import { bracketMatching, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { defaultKeymap, history, historyKeymap, indentLess, indentMore } from "@codemirror/commands";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, type CompletionSource } from "@codemirror/autocomplete";
import { python } from "@codemirror/lang-python";
import { classHighlighter } from "@lezer/highlight";
import { timerBlink } from "./blink";
import type { CellKind } from "./types";

/** Marks a change that came from elsewhere (another tab, the server): not saved back. */
export const remote = Annotation.define<boolean>();

/** The scope of the key bindings that run before CodeMirror sees the key (see firstKeys). */
export const FIRST_KEYS = "codenode-first";

/** Keys that change nothing in an editor on their own. */
const MODIFIERS = new Set(["Shift", "Control", "Alt", "AltGraph", "Meta", "CapsLock"]);

/** Keys taken before CodeMirror's own keydown handling, which asks for an animation frame on
 *  every key (it reads the DOM back, then measures). In Chromium a key that leaves a frame
 *  pending holds back the page's other tasks, the bus's messages among them, until the frame
 *  has been drawn: a run key would delay reading its own answer by up to a frame interval.
 *  So the bindings in the FIRST_KEYS scope (the run keys) run here, and a lone modifier (the
 *  Shift of Shift+Enter) stops here; anything else, and any key while composing text with an
 *  input method, goes on to CodeMirror as before. */
function firstKeys(view: EditorView): (event: KeyboardEvent) => void {
  return (event) => {
    if (event.isComposing || view.composing) return;
    if (runScopeHandlers(view, event, FIRST_KEYS)) {
      event.preventDefault();
      event.stopPropagation();
    } else if (MODIFIERS.has(event.key)) event.stopPropagation();
  };
}

/** Focus and blur take effect at once. CodeMirror takes note of them 10 ms later, so a click
 *  in a cell drew its cursor (and the cell marked as selected) in a frame of its own after the
 *  click's, and a key pressed in the meantime waited for that frame (see firstKeys). The
 *  empty transaction is dispatched once the event's own code is done. */
function focusAtOnce(view: EditorView): void {
  const note = () => queueMicrotask(() => view.dispatch({}));
  view.contentDOM.addEventListener("focus", note);
  view.contentDOM.addEventListener("blur", note);
}

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
    drawSelection({ cursorBlinkRate: 0 }), // its CSS blink would slow every key: see blink.ts
    timerBlink,
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
  const view = new EditorView({ parent, state: EditorState.create({ doc, extensions }) });
  view.dom.addEventListener("keydown", firstKeys(view), true); // before the content's own listeners
  focusAtOnce(view);
  return view;
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
