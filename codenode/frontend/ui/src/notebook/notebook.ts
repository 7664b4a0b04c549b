// The notebook on the page: its cells in order, what the bus says happened to them, and what
// the person does to them (run, insert, delete, move, change kind, fold).
import type { EditorView } from "@codemirror/view";
import { h } from "../dom";
import type { Bus } from "./bus";
import { CellView, type CellHost } from "./cell";
import { engineCompletion } from "./completion";
import type { EditorHooks } from "./editor";
import { FirstAnswer } from "./first-answer";
import { folds } from "./folds";
import { openHelp } from "./help";
import { eachWhenIdle } from "./idle";
import { introspectionPanel, nameAt, questionCell } from "./introspection";
import { commandKey, editKeys, type Advance, type CommandActions, type PairState } from "./keys";
import type { Saver } from "./saver";
import type { Toolbar } from "./toolbar";
import type { CellData, CellKind, EngineEvent, IntrospectReply, NotebookInfo, Role, ServerMessage } from "./types";

function newCellId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Cells drawn completely at once; those after them get their editors and rendered markdown
 *  in the idle moments after the first paint. */
const EAGER_CELLS = 30;

type ViewWithCell = HTMLElement & { cell?: CellView };

export class NotebookEditor implements CellHost {
  readonly element = h("main", { class: "cells", "aria-label": "Cells" });
  readonly hooks: EditorHooks;
  numbering = true;
  info: NotebookInfo | null = null;
  private cells: CellView[] = [];
  private byId = new Map<string, CellView>();
  private selected: CellView | null = null;
  private you = -1;
  private role: Role = "viewer";
  private queue: string[] = [];
  private active = new Set<CellView>();
  private engine: EngineEvent = { type: "engine", state: "none" };
  private clipboard: { kind: CellKind; source: string } | null = null;
  private lastRun: string | null = null;
  /** What waits for a run's first answer: screen updates, the move to the next cell. */
  private firstAnswer = new FirstAnswer();
  private panel: HTMLElement | null = null;
  private loaded = false;
  private upgrading = false;
  private keyState: PairState = { lastD: null };

  constructor(
    private bus: Bus,
    private saver: Saver,
    private toolbar: Toolbar,
    private notify: (message: string, kind?: "error") => void,
    private onRole: (locked: boolean) => void,
  ) {
    const keys = editKeys({
      run: (view, advance) => this.run(view ? this.cellOf(view) : this.selected, advance),
      introspect: (view) => this.introspectAtCursor(view),
      leave: (view, direction) => this.leave(this.cellOf(view), direction),
      commandMode: (view) => this.select(this.cellOf(view), false),
    });
    this.hooks = {
      keys,
      complete: engineCompletion(bus),
      onChange: (view) => {
        const cell = this.cellOf(view);
        if (cell && !this.locked) this.saver.changed(cell.id);
      },
      onFocus: (view) => {
        const cell = this.cellOf(view);
        if (cell) this.mark(cell);
      },
      onBlur: (view) => {
        const cell = this.cellOf(view);
        if (cell) this.saver.flush(cell.id);
      },
    };
    this.element.addEventListener("keydown", (event) => this.onKey(event));
    saver.paint = (draw) => this.firstAnswer.draw(draw);
  }

  get locked(): boolean {
    return this.role === "viewer" || this.role === "public";
  }

  sourceOf(cellId: string): string | null {
    return this.byId.get(cellId)?.source ?? null;
  }

  // -- what the bus says -------------------------------------------------------------------

  receive(message: ServerMessage): void {
    // While a run waits for its first answer, what comes before it (the cell queued, the
    // engine busy) is drawn with it; anything else ends the wait first, so order is kept.
    if (this.firstAnswer.holding) {
      if (message.type === "queued" || message.type === "engine") {
        this.firstAnswer.draw(() => this.handle(message));
        return;
      }
      this.firstAnswer.release();
    }
    this.handle(message);
  }

  private handle(message: ServerMessage): void {
    const mine = message.origin !== undefined && message.origin === this.you;
    switch (message.type) {
      case "notebook":
        this.load(message.notebook, message.cells, message.engine, message.running, message.you);
        break;
      case "engine":
        this.engine = message;
        this.toolbar.setEngine(message);
        this.drawRunStates();
        break;
      case "notice":
        this.notify(message.message);
        break;
      case "queued": {
        const cell = this.byId.get(message.cell_id);
        if (!cell) break;
        cell.outputs.clear();
        if (!this.queue.includes(cell.id)) this.queue.push(cell.id);
        this.saver.ran(cell.id);
        this.drawRunStates();
        break;
      }
      case "output": {
        const cell = this.byId.get(message.cell_id ?? this.lastRun ?? "");
        cell?.outputs.add(message.output);
        if (cell) this.firstAnswer.answered(cell.id);
        break;
      }
      case "input_request": {
        const cell = this.byId.get(message.cell_id);
        // Shift+Enter's move to the next cell happens first: that is where the person is
        // (and where the focus goes back once they answered).
        this.firstAnswer.now(message.cell_id);
        if (cell && !this.locked) cell.outputs.askInput(message.prompt, message.password, (value) => this.bus.send("input_reply", { value }));
        break;
      }
      case "result": {
        const cell = this.byId.get(message.cell_id);
        this.firstAnswer.answered(message.cell_id);
        this.queue = this.queue.filter((id) => id !== message.cell_id);
        if (cell) {
          cell.outputs.removeInput();
          if (message.error) cell.outputs.finishWithError(message.error);
          cell.setExecutionCount(message.execution_count);
        }
        this.drawRunStates();
        break;
      }
      case "cell_inserted":
        if (mine) this.saver.answered(message.id);
        if (!this.byId.has(message.cell.id)) this.place(new CellView(message.cell, this), message.position);
        else this.reposition(message.cell.id, message.position);
        this.drawFolds();
        break;
      case "cell_updated": {
        const cell = this.byId.get(message.cell_id);
        if (mine) {
          this.saver.answered(message.id);
          if (cell) cell.stored = message.source;
          break;
        }
        if (!cell) break;
        const headingChanged = cell.kind !== message.kind;
        cell.setKind(message.kind);
        if (cell.setSource(message.source)) this.saver.changed(cell.id); // merged: store the merge
        if (headingChanged || cell.isHeading) this.drawFolds();
        break;
      }
      case "cell_moved":
        if (mine) this.saver.answered(message.id);
        this.reposition(message.cell_id, message.position);
        break;
      case "cell_deleted":
        if (mine) this.saver.answered(message.id);
        else this.drop(message.cell_id);
        break;
      case "notebook_updated":
        this.info = { ...message.notebook, role: this.role };
        this.toolbar.setNotebook(this.info, !this.locked);
        break;
      case "role":
        this.setRole(message.role);
        break;
      case "error":
        this.saver.answered(message.id);
        this.notify(message.message, "error");
        break;
    }
  }

  /** The whole notebook (first message after every connect): taken as it is, except the
   *  text typed here that the server has not stored yet. */
  private load(info: NotebookInfo, cells: CellData[], engine: EngineEvent, running: string[], you: number): void {
    this.you = you;
    this.info = info;
    this.setRole(info.role ?? "viewer");
    const unsaved = this.saver.unsaved();
    const keep = new Set(cells.map((c) => c.id));
    for (const cell of [...this.cells]) if (!keep.has(cell.id)) this.drop(cell.id);
    const next: CellView[] = [];
    for (const [index, data] of cells.entries()) {
      let cell = this.byId.get(data.id);
      if (!cell) {
        // Beyond the first screenful, markdown is rendered after the page is drawn.
        cell = new CellView(data, this, index > EAGER_CELLS);
        this.byId.set(cell.id, cell);
      } else {
        cell.setKind(data.kind);
        if (!unsaved.has(cell.id)) cell.setSource(data.source);
        else cell.stored = data.source;
        cell.outputs.setAll(data.outputs);
        cell.setExecutionCount(data.execution_count);
      }
      next.push(cell);
    }
    const sameOrder = next.length === this.cells.length && next.every((cell, i) => this.cells[i] === cell);
    this.cells = next;
    if (!sameOrder) {
      const focused = document.activeElement;
      this.element.replaceChildren(...next.map((cell) => cell.element));
      if (focused instanceof HTMLElement && this.element.contains(focused)) focused.focus();
    }
    this.queue = running.filter((id) => this.byId.has(id));
    this.engine = engine;
    this.toolbar.setNotebook(info, !this.locked);
    this.toolbar.setEngine(engine);
    this.drawRunStates();
    this.drawFolds();
    this.saver.flushAll();
    if (!this.loaded) {
      this.loaded = true;
      performance.mark("codenode:notebook-built");
      // For benchmarks: when the first notebook message has been drawn (the frame after).
      requestAnimationFrame(() => setTimeout(() => performance.mark("codenode:notebook-painted")));
      if (this.cells.length === 0 && !this.locked) this.insert(0, "code", "", true);
      else if (this.cells.length) {
        const first = this.cells[0];
        if (this.cells.length === 1 && !first.source && !this.locked) this.select(first, true);
        else this.mark(first);
      }
    }
    this.upgradeLater();
  }

  private setRole(role: Role): void {
    const wasLocked = this.locked;
    this.role = role;
    if (this.info) this.info.role = role;
    if (this.locked !== wasLocked || !this.loaded) {
      for (const cell of this.cells) cell.setLocked(this.locked);
      this.onRole(this.locked);
    }
    if (this.info) this.toolbar.setNotebook(this.info, !this.locked);
  }

  private drawRunStates(): void {
    const engineRuns = this.engine.state !== "starting" && this.engine.state !== "none";
    const now = new Set<CellView>();
    this.queue.forEach((id, index) => {
      const cell = this.byId.get(id);
      if (!cell) return;
      now.add(cell);
      const state = index === 0 && engineRuns ? "running" : "queued";
      if (cell.state !== state) cell.setState(state);
    });
    for (const cell of this.active) if (!now.has(cell)) cell.setState("idle");
    this.active = now;
  }

  // -- cells in order ---------------------------------------------------------------------

  private place(cell: CellView, position: number): void {
    position = Math.max(0, Math.min(position, this.cells.length));
    this.byId.set(cell.id, cell);
    const before = this.cells[position];
    this.cells.splice(position, 0, cell);
    this.element.insertBefore(cell.element, before?.element ?? null);
  }

  private reposition(cellId: string, position: number): void {
    const cell = this.byId.get(cellId);
    if (!cell) return;
    const index = this.cells.indexOf(cell);
    position = Math.max(0, Math.min(position, this.cells.length - 1));
    if (index === position) return;
    const hadFocus = cell.element.contains(document.activeElement);
    const editing = cell.isEditorFocused;
    this.cells.splice(index, 1);
    this.cells.splice(position, 0, cell);
    this.element.insertBefore(cell.element, this.cells[position + 1]?.element ?? null);
    if (editing) cell.focusEditor();
    else if (hadFocus) cell.element.focus();
    this.drawFolds();
  }

  private drop(cellId: string): void {
    const cell = this.byId.get(cellId);
    if (!cell) return;
    const index = this.cells.indexOf(cell);
    const hadFocus = cell.element.contains(document.activeElement);
    this.byId.delete(cellId);
    this.cells.splice(index, 1);
    this.queue = this.queue.filter((id) => id !== cellId);
    this.active.delete(cell);
    cell.view?.destroy();
    cell.element.remove();
    this.saver.forget(cellId);
    if (this.selected === cell) {
      this.selected = null;
      const neighbour = this.cells[Math.min(index, this.cells.length - 1)];
      if (neighbour) hadFocus ? this.select(neighbour, false) : this.mark(neighbour);
    }
    this.drawFolds();
  }

  /** Folds, and each cell's number in its accessible name ("Cell 3, code, ran [5]"). */
  private drawFolds(): void {
    this.cells.forEach((cell, index) => cell.setNumber(index + 1));
    const { hidden, counts } = folds(this.cells);
    for (const cell of this.cells) {
      const isHidden = hidden.has(cell);
      if (cell.element.hidden !== isHidden) cell.element.hidden = isHidden;
      if (cell.isHeading) cell.setFolded(cell.folded, counts.get(cell) ?? 0);
    }
  }

  toggleFold(cell: CellView): void {
    cell.folded = !cell.folded;
    this.drawFolds();
    this.select(cell, false);
  }

  // -- selection and modes -----------------------------------------------------------------

  private cellOf(view: EditorView): CellView {
    return (view.dom as ViewWithCell).cell!;
  }

  /** Mark *cell* as the selected one (without moving focus). */
  private mark(cell: CellView): void {
    if (this.selected === cell) return;
    this.selected?.element.classList.remove("selected");
    this.selected?.element.setAttribute("tabindex", "-1");
    this.selected = cell;
    cell.element.classList.add("selected");
    cell.element.setAttribute("tabindex", "0");
  }

  select(cell: CellView, edit: boolean): void {
    this.mark(cell);
    if (edit && !this.locked) {
      cell.focusEditor();
    } else {
      if (cell.isEditorFocused) cell.blurEditor();
      cell.element.focus({ preventScroll: true });
      cell.element.scrollIntoView({ block: "nearest" });
    }
  }

  private neighbour(cell: CellView, by: -1 | 1): CellView | null {
    for (let i = this.cells.indexOf(cell) + by; i >= 0 && i < this.cells.length; i += by) {
      if (!this.cells[i].element.hidden) return this.cells[i];
    }
    return null;
  }

  private leave(cell: CellView, direction: -1 | 1): boolean {
    const next = this.neighbour(cell, direction);
    if (!next) return false;
    this.saver.flush(cell.id);
    if (next.kind === "code" || next.editing) {
      this.mark(next);
      next.focusEditor(direction === 1 ? "start" : "end");
    } else this.select(next, false);
    return true;
  }

  private onKey(event: KeyboardEvent): void {
    const target = event.target as HTMLElement;
    if (!target.classList.contains("cell") || !this.selected) return;
    const cell = this.selected;
    const actions: CommandActions = {
      edit: () => {
        if (this.locked) return;
        cell.startEditing();
        this.select(cell, true);
      },
      select: (by) => {
        const next = this.neighbour(cell, by);
        if (next) this.select(next, false);
      },
      run: (advance) => this.run(cell, advance),
      insert: (where) => this.insert(this.cells.indexOf(cell) + (where === "below" ? 1 : 0), "code", "", false),
      remove: () => this.deleteCell(cell),
      kind: (kind) => this.setKind(cell, kind),
      copy: () => this.copy(cell),
      cut: () => {
        this.copy(cell);
        this.deleteCell(cell);
      },
      paste: () => this.paste(cell),
      move: (by) => this.move(cell, by),
      help: () => openHelp(),
    };
    if (commandKey(event, actions, this.locked, this.keyState)) event.preventDefault();
  }

  // -- what the person does ----------------------------------------------------------------

  current(): CellView | null {
    return this.selected;
  }

  run(cell: CellView | null, advance: Advance): void {
    if (!cell) return;
    if (this.locked) {
      this.notify("This notebook is read-only for you.");
      return;
    }
    if (cell.kind === "code") {
      const source = cell.source;
      const question = questionCell(source);
      if (question) {
        this.saver.flush(cell.id);
        this.introspect(cell, question.name, question.detail);
      } else {
        const id = this.bus.send("evaluate", { cell_id: cell.id, source });
        if (id === null) {
          this.notify("Not connected: the cell will run once the connection is back. Try again then.", "error");
          return;
        }
        this.firstAnswer.hold(); // from here until the answer, nothing on screen changes
        this.saver.sentWith(cell.id, id);
        this.lastRun = cell.id;
        this.firstAnswer.draw(() => this.closePanel());
      }
    } else {
      this.saver.flush(cell.id);
      cell.stopEditing();
    }
    if (advance === "stay") {
      if (cell.kind !== "code") this.select(cell, false);
      return;
    }
    if (cell.kind === "code" && !questionCell(cell.source)) {
      // Moving on (focusing the next cell's editor) takes the main thread for a while; the
      // first answer usually comes within a few milliseconds, so show it first and move on
      // right after it is painted (or after a short wait, whichever comes first).
      this.firstAnswer.after(cell.id, () => this.advance(cell, advance));
      return;
    }
    this.advance(cell, advance);
  }

  private advance(cell: CellView, advance: Advance): void {
    const index = this.cells.indexOf(cell);
    const next = advance === "next" ? this.neighbour(cell, 1) : null;
    if (next) {
      if (next.kind === "code" || next.editing) this.select(next, true);
      else this.select(next, false);
    } else {
      this.insert(index + 1, "code", "", true);
    }
  }

  insert(position: number, kind: CellKind, source: string, edit: boolean): CellView | null {
    if (this.locked) return null;
    const data: CellData = { id: newCellId(), kind, source, outputs: [], execution_count: null };
    if (this.bus.send("insert_cell", { cell_id: data.id, position, kind, source }) === null) {
      this.notify("Not connected: cells cannot be added until the connection is back.", "error");
      return null;
    }
    const cell = new CellView(data, this);
    this.place(cell, position);
    this.drawFolds();
    if (kind !== "code") cell.startEditing();
    cell.ensureEditor();
    this.select(cell, edit || kind !== "code");
    return cell;
  }

  /** A new code cell below the selected one (at the end without one). */
  addCell(): void {
    const position = this.selected ? this.cells.indexOf(this.selected) + 1 : this.cells.length;
    this.insert(position, "code", "", true);
  }

  deleteCell(cell: CellView | null = this.selected): void {
    if (!cell || this.locked) return;
    if (this.bus.send("delete_cell", { cell_id: cell.id }) === null) {
      this.notify("Not connected: try again once the connection is back.", "error");
      return;
    }
    const index = this.cells.indexOf(cell);
    const wasSelected = this.selected === cell;
    this.selected = null;
    this.drop(cell.id);
    if (this.cells.length === 0) this.insert(0, "code", "", false);
    else if (wasSelected) this.select(this.cells[Math.min(index, this.cells.length - 1)], false);
  }

  move(cell: CellView | null = this.selected, by: -1 | 1): void {
    if (!cell || this.locked) return;
    const position = this.cells.indexOf(cell) + by;
    if (position < 0 || position >= this.cells.length) return;
    if (this.bus.send("move_cell", { cell_id: cell.id, position }) === null) return;
    this.reposition(cell.id, position);
    this.select(cell, cell.isEditorFocused);
  }

  setKind(cell: CellView, kind: CellKind): void {
    if (this.locked || cell.kind === kind) return;
    this.saver.flush(cell.id);
    if (this.bus.send("update_cell", { cell_id: cell.id, kind }) === null) return;
    cell.setKind(kind);
    cell.stopEditing();
    if (kind !== "code" && !cell.source.trim()) cell.startEditing();
    this.drawFolds();
    this.select(cell, false);
  }

  copy(cell: CellView | null = this.selected): void {
    if (!cell) return;
    this.clipboard = { kind: cell.kind, source: cell.source };
    this.notify("Cell copied.");
  }

  paste(cell: CellView | null = this.selected): void {
    if (!this.clipboard) {
      this.notify("Nothing to paste: copy a cell first (c).");
      return;
    }
    const position = cell ? this.cells.indexOf(cell) + 1 : this.cells.length;
    const pasted = this.insert(position, this.clipboard.kind, this.clipboard.source, false);
    pasted?.stopEditing();
  }

  rename(title: string): void {
    this.bus.send("rename", { title });
  }

  engineControl(op: "interrupt" | "restart" | "stop"): void {
    if (this.bus.send(op) === null) this.notify("Not connected.", "error");
  }

  // -- introspection ------------------------------------------------------------------------

  private introspectAtCursor(view: EditorView): void {
    const head = view.state.selection.main.head;
    const line = view.state.doc.lineAt(head);
    const name = nameAt(line.text, head - line.from);
    if (name) this.introspect(this.cellOf(view), name, 0);
  }

  private introspect(cell: CellView, expr: string, detail: number): void {
    this.bus.request("introspect", { expr, detail }).then(
      (reply) => {
        this.closePanel();
        const info = reply as IntrospectReply;
        if (!("found" in info)) info.found = false;
        info.name ??= expr;
        const panel = introspectionPanel(info, () => {
          this.closePanel();
          if (this.byId.has(cell.id)) cell.focusEditor();
        });
        this.panel = panel;
        cell.element.querySelector(".cell-body")!.insertBefore(panel, cell.outputs.element);
      },
      (error: Error) => this.notify(`Could not introspect ${expr}: ${error.message}`, "error"),
    );
  }

  private closePanel(): void {
    this.panel?.remove();
    this.panel = null;
  }

  // -- editors, created after the first paint ----------------------------------------------

  /** CodeMirror views and rendered markdown in idle moments, in order, after the first paint. */
  private upgradeLater(): void {
    if (this.upgrading) return;
    this.upgrading = true;
    eachWhenIdle(
      () => this.cells,
      (cell) => {
        cell.renderPending();
        if (!cell.view && (cell.kind === "code" || cell.editing)) cell.ensureEditor();
      },
      () => (this.upgrading = false),
    );
  }
}
