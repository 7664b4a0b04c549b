// One cell on the page: its prompt, its input (a static stand-in until CodeMirror is needed),
// its rendered text (markdown, headings) and its outputs.
import type { EditorView } from "@codemirror/view";
import { EditorSelection } from "@codemirror/state";
import { h } from "../dom";
import { OutputArea } from "./outputs";
import { createEditor, mergeIntoEditor, mergeText, setEditorKind, setEditorLocked, staticCode, type EditorHooks } from "./editor";
import { renderMarkdown } from "./markdown";
import { HEADING_LEVELS, type CellData, type CellKind } from "./types";

export type RunState = "idle" | "queued" | "running";

const KIND_NAMES: Record<CellKind, string> = {
  code: "code",
  markdown: "markdown",
  title: "title heading",
  subtitle: "subtitle heading",
  section: "section heading",
  subsection: "subsection heading",
};

/** What a cell needs from the notebook around it. */
export interface CellHost {
  readonly locked: boolean;
  readonly numbering: boolean;
  hooks: EditorHooks;
  select(cell: CellView, edit: boolean): void;
  toggleFold(cell: CellView): void;
}

export class CellView {
  readonly id: string;
  readonly element: HTMLElement;
  readonly outputs = new OutputArea();
  kind: CellKind;
  view: EditorView | null = null;
  executionCount: number | null;
  state: RunState = "idle";
  folded = false;
  /** Markdown and headings: shown as source (true) or rendered (false). */
  editing = false;
  private text: string;
  private prompt: HTMLElement;
  private foldToggle: HTMLButtonElement;
  private inputBox: HTMLElement;
  private stand: HTMLElement | null = null;
  private rendered: HTMLElement;
  private hiddenNote: HTMLElement;

  /** Rendering of markdown put off until the page is drawn (see renderPending). */
  private pendingRender = false;
  /** Its place in the notebook, from 1 (0: not placed yet). */
  private number = 0;

  constructor(
    data: CellData,
    private host: CellHost,
    private deferred = false,
  ) {
    this.id = data.id;
    this.kind = data.kind;
    this.text = data.source;
    this.stored = data.source;
    this.executionCount = data.execution_count;
    this.prompt = h("div", { class: "prompt", "aria-hidden": "true" });
    this.foldToggle = h("button", { type: "button", class: "fold-toggle", "aria-expanded": "true", "aria-label": "Fold section" });
    this.foldToggle.addEventListener("click", (event) => {
      event.stopPropagation();
      host.toggleFold(this);
    });
    this.inputBox = h("div", { class: "cell-input" });
    this.rendered = h("div", { class: "rendered" });
    this.rendered.addEventListener("dblclick", () => {
      if (host.locked) return;
      this.startEditing();
      host.select(this, true);
    });
    this.hiddenNote = h("button", { type: "button", class: "fold-note", onclick: () => host.toggleFold(this) });
    this.hiddenNote.hidden = true;
    this.element = h(
      "section",
      { class: "cell", tabindex: "-1", "data-cell-id": data.id },
      h("div", { class: "cell-gutter" }, this.prompt, this.foldToggle),
      h("div", { class: "cell-body" }, this.inputBox, this.rendered, this.outputs.element, this.hiddenNote),
    );
    this.element.addEventListener("mousedown", (event) => this.onMouseDown(event));
    this.outputs.setAll(data.outputs);
    this.applyKind();
    this.deferred = false;
  }

  /** Render what was put off (markdown, math); true if there was anything. */
  renderPending(): boolean {
    if (!this.pendingRender) return false;
    this.pendingRender = false;
    if (!this.editing && this.kind !== "code") this.renderText();
    return true;
  }

  get source(): string {
    return this.view ? this.view.state.doc.toString() : this.text;
  }

  get isHeading(): boolean {
    return this.kind in HEADING_LEVELS;
  }

  get level(): number {
    return HEADING_LEVELS[this.kind] ?? 0;
  }

  get isEditorFocused(): boolean {
    return this.view?.hasFocus ?? false;
  }

  /** Create the CodeMirror view in place of the stand-in (cheap to call again). */
  ensureEditor(): EditorView {
    if (!this.view) {
      this.stand?.remove();
      this.stand = null;
      this.view = createEditor(this.inputBox, this.text, this.kind, this.host.locked, this.host.hooks);
      (this.view.dom as HTMLElement & { cell?: CellView }).cell = this;
    }
    return this.view;
  }

  focusEditor(where: "start" | "end" | null = null): void {
    if (!this.isEditable()) {
      this.startEditing();
    }
    const view = this.ensureEditor();
    if (where !== null) {
      const pos = where === "start" ? 0 : view.state.doc.length;
      view.dispatch({ selection: EditorSelection.cursor(pos), scrollIntoView: true });
    }
    view.focus();
  }

  blurEditor(): void {
    this.view?.contentDOM.blur();
  }

  /** The source as the server last said it was: the base that edits here are merged onto. */
  stored: string;

  /** Source changed elsewhere (another tab): merged with what was typed here since the last
   *  stored version, the cursor kept. True if the result differs from *source* (save it). */
  setSource(source: string): boolean {
    const base = this.stored;
    this.stored = source;
    if (this.view) mergeIntoEditor(this.view, base, source);
    else {
      this.text = mergeText(base, this.text, source);
      if (this.kind === "code" || this.editing) this.drawStandIn();
    }
    if (!this.editing && this.kind !== "code") this.renderText();
    return this.source !== source;
  }

  setKind(kind: CellKind): void {
    if (kind === this.kind) return;
    this.text = this.source;
    this.kind = kind;
    if (this.view) setEditorKind(this.view, kind);
    this.applyKind();
  }

  setLocked(locked: boolean): void {
    if (this.view) setEditorLocked(this.view, locked);
  }

  setState(state: RunState): void {
    this.state = state;
    this.element.dataset.state = state;
    this.drawPrompt();
  }

  /** Its place in the notebook, from 1, as its accessible name says. */
  setNumber(number: number): void {
    if (number === this.number) return;
    this.number = number;
    this.drawName();
  }

  setExecutionCount(count: number | null): void {
    this.executionCount = count;
    this.drawPrompt();
  }

  /** Markdown and headings: show the source in an editor. */
  startEditing(): void {
    if (this.kind === "code" || this.editing) return;
    this.editing = true;
    this.applyKind();
  }

  /** Markdown and headings: show them rendered. */
  stopEditing(): void {
    if (this.kind === "code" || !this.editing) return;
    this.text = this.source;
    this.editing = false;
    this.applyKind();
  }

  setFolded(folded: boolean, hiddenCount: number): void {
    this.folded = folded;
    this.foldToggle.setAttribute("aria-expanded", String(!folded));
    this.foldToggle.setAttribute("aria-label", folded ? "Unfold section" : "Fold section");
    this.hiddenNote.hidden = !folded || hiddenCount === 0;
    this.hiddenNote.textContent = `${hiddenCount} cell${hiddenCount === 1 ? "" : "s"} folded: show`;
  }

  private isEditable(): boolean {
    return this.kind === "code" || this.editing;
  }

  private applyKind(): void {
    this.element.dataset.kind = this.kind;
    this.element.dataset.state = this.state;
    this.foldToggle.hidden = !this.isHeading;
    if (!this.isHeading) this.hiddenNote.hidden = true;
    const showInput = this.isEditable();
    this.inputBox.hidden = !showInput;
    this.rendered.hidden = showInput;
    if (showInput && !this.view) this.drawStandIn();
    if (!showInput) this.renderText();
    this.drawPrompt();
  }

  private renderText(): void {
    const source = this.source;
    if (this.kind === "markdown") {
      this.rendered.className = "rendered markdown-rendered";
      if (this.deferred) {
        this.pendingRender = true;
        this.rendered.textContent = source; // for a moment, until the idle time after painting
      } else if (source.trim()) renderMarkdown(this.rendered, source);
      else this.rendered.replaceChildren(h("p", { class: "placeholder" }, "Empty text cell: double-click or Enter to edit"));
    } else {
      const tag = (["h1", "h2", "h3", "h4"] as const)[this.level - 1] ?? "h4";
      this.rendered.className = "rendered heading-rendered";
      this.rendered.replaceChildren(h(tag, {}, source.trim() || "Untitled heading"));
    }
  }

  private drawStandIn(): void {
    const stand = staticCode(this.text);
    if (this.stand) this.stand.replaceWith(stand);
    else this.inputBox.append(stand);
    this.stand = stand;
  }

  /** "Cell 3, code, ran [5]": which cell, what it is and where its run stands. */
  private drawName(): void {
    let name = `Cell ${this.number || ""}, ${KIND_NAMES[this.kind]}`;
    if (this.kind === "code") {
      if (this.state !== "idle") name += `, ${this.state}`;
      else name += this.executionCount === null ? ", not run" : `, ran [${this.executionCount}]`;
    }
    if (this.element.getAttribute("aria-label") !== name) this.element.setAttribute("aria-label", name);
  }

  private drawPrompt(): void {
    this.drawName();
    if (this.kind !== "code") {
      this.prompt.textContent = "";
      this.outputs.setPrompt("");
      return;
    }
    const busy = this.state !== "idle";
    const count = busy ? "*" : this.executionCount ?? " ";
    this.prompt.textContent = this.host.numbering || busy ? `In [${count}]` : "";
    // The engine writes a cell's value as its output: the output of cell n is "Out [n]".
    const numbered = this.host.numbering && !busy && this.executionCount !== null;
    this.outputs.setPrompt(numbered ? `Out [${this.executionCount}]` : "");
  }

  private onMouseDown(event: MouseEvent): void {
    const target = event.target as HTMLElement;
    if (target.closest("button, a, input, iframe, .outputs")) {
      this.host.select(this, false);
      return;
    }
    if (this.view?.dom.contains(target)) return; // CodeMirror handles its own clicks
    if (this.stand?.contains(target) && this.isEditable()) {
      event.preventDefault();
      const view = this.ensureEditor();
      const pos = view.posAtCoords({ x: event.clientX, y: event.clientY });
      view.focus();
      if (pos !== null) view.dispatch({ selection: EditorSelection.cursor(pos) });
      return;
    }
    this.host.select(this, false);
  }
}
