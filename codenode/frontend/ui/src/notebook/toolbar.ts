// The notebook's toolbar: title (click to rename), engine type and state, engine controls,
// export, revisions, share, the Files panel's toggle, and the cell buttons that mirror the
// command-mode keys.
import { h } from "../dom";
import type { EngineEvent, NotebookInfo } from "./types";

export interface ToolbarActions {
  rename(title: string): void;
  engine(op: "interrupt" | "restart" | "stop"): void;
  share(): void;
  revisions(): void;
  addCell(): void;
  deleteCell(): void;
  moveCell(by: -1 | 1): void;
  copyCell(): void;
  pasteCell(): void;
  runCell(): void;
  help(): void;
  files(): void;
  /** The notebook's title, role and so on, each time they are (re)drawn. */
  notebook(info: NotebookInfo): void;
}

function button(label: string, text: string, onclick: () => void, extra: Record<string, string> = {}): HTMLButtonElement {
  return h("button", { type: "button", "aria-label": label, title: label, onclick: () => onclick(), ...extra }, text);
}

export class Toolbar {
  readonly element: HTMLElement;
  readonly saveState = h("span", { class: "save-state", role: "status" });
  readonly connection = h("span", { class: "connection", role: "status" });
  /** Opens and closes the Files panel, which keeps its aria-expanded. */
  readonly filesToggle: HTMLButtonElement;
  private title = h("button", { type: "button", class: "notebook-title", title: "Rename" });
  private engineType = h("span", { class: "engine-type" });
  private engineState = h("span", { class: "engine-state", role: "status" });
  private engineReason = h("span", { class: "engine-reason" });
  private writerOnly: HTMLElement[] = [];
  private ownerOnly: HTMLElement[] = [];
  private exportMenu: HTMLElement;
  private exportButton: HTMLButtonElement;
  private currentTitle = "";

  constructor(
    notebookId: string,
    private actions: ToolbarActions,
  ) {
    this.title.addEventListener("click", () => this.editTitle());
    const engineControls = [
      button("Interrupt", "■ Interrupt", () => actions.engine("interrupt")),
      button("Restart", "↻ Restart", () => actions.engine("restart")),
      button("Stop", "Stop", () => actions.engine("stop")),
    ];
    const cellControls = [
      button("Run cell", "▶", () => actions.runCell()),
      button("Add cell", "+", () => actions.addCell()),
      button("Delete cell", "✕", () => actions.deleteCell()),
      button("Move cell up", "↑", () => actions.moveCell(-1)),
      button("Move cell down", "↓", () => actions.moveCell(1)),
      button("Copy cell", "Copy", () => actions.copyCell()),
      button("Paste cell", "Paste", () => actions.pasteCell()),
    ];
    const share = button("Share", "Share", () => actions.share());
    this.filesToggle = button("Files", "Files", () => actions.files(), { "aria-expanded": "false", "aria-controls": "files-panel" });
    const engineGroup = h("span", { class: "group" }, engineControls);
    const cellGroup = h("span", { class: "group" }, cellControls);
    this.writerOnly.push(engineGroup, cellGroup, this.saveState);
    this.ownerOnly.push(share);
    this.exportButton = button("Export", "Export", () => this.toggleExport(), { "aria-haspopup": "menu", "aria-expanded": "false" });
    const formats: [string, string][] = [["ipynb", "Jupyter (.ipynb)"], ["py", "Python (.py)"], ["html", "HTML"]];
    this.exportMenu = h(
      "div",
      { class: "export-menu", role: "menu" },
      formats.map(([format, label]) =>
        h("a", { role: "menuitem", href: `/api/notebooks/${encodeURIComponent(notebookId)}/export?format=${format}`, download: "" }, label),
      ),
    );
    this.exportMenu.hidden = true;
    this.exportMenu.addEventListener("click", () => this.toggleExport(false));
    this.exportMenu.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.toggleExport(false);
        this.exportButton.focus();
      }
    });
    this.element = h(
      "header",
      { class: "notebook-toolbar" },
      h(
        "div",
        { class: "toolbar-row" },
        this.title,
        h("span", { class: "engine" }, this.engineType, this.engineState, this.engineReason),
        this.saveState,
        this.connection,
      ),
      h(
        "div",
        { class: "toolbar-row", role: "toolbar", "aria-label": "Notebook actions" },
        engineGroup,
        cellGroup,
        h(
          "span",
          { class: "group" },
          h("span", { class: "export" }, this.exportButton, this.exportMenu),
          button("Revisions", "Revisions", () => actions.revisions()),
          share,
          this.filesToggle,
          button("Keyboard shortcuts", "?", () => actions.help()),
        ),
      ),
    );
    document.addEventListener("click", (event) => {
      if (!this.exportButton.parentElement!.contains(event.target as Node)) this.toggleExport(false);
    });
  }

  setNotebook(notebook: NotebookInfo, canWrite: boolean): void {
    this.currentTitle = notebook.title;
    this.title.textContent = notebook.title || "Untitled";
    document.title = `${notebook.title || "Untitled"} — Codenode`;
    this.engineType.textContent = notebook.engine_type;
    this.title.disabled = !canWrite;
    for (const element of this.writerOnly) element.hidden = !canWrite;
    for (const element of this.ownerOnly) element.hidden = notebook.role !== "owner";
    this.actions.notebook(notebook);
  }

  setEngine(event: EngineEvent): void {
    const state = event.state === "none" ? "no engine" : event.state;
    this.engineState.textContent = state;
    this.engineState.dataset.state = event.state;
    this.engineState.title = event.reason ?? "";
    this.engineReason.textContent = event.reason && event.state === "dead" ? event.reason : "";
  }

  /** The title becomes an input (same class) until Enter, Esc or leaving it. */
  private editTitle(): void {
    if (this.title.disabled || !this.title.isConnected) return;
    const input = h("input", { type: "text", class: "notebook-title", "aria-label": "Notebook title", maxlength: "500" });
    input.value = this.currentTitle;
    let done = false;
    const finish = (save: boolean) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== this.currentTitle) {
        this.currentTitle = title;
        this.actions.rename(title);
      }
      this.title.textContent = this.currentTitle || "Untitled";
      input.replaceWith(this.title);
      this.title.focus();
    };
    input.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if (event.key !== "Enter" && event.key !== "Escape") return;
      event.preventDefault(); // else the key goes on to "click" the title button again
      finish(event.key === "Enter");
    });
    input.addEventListener("blur", () => finish(true));
    this.title.replaceWith(input);
    input.focus();
    input.select();
  }

  private toggleExport(open = this.exportMenu.hidden): void {
    this.exportMenu.hidden = !open;
    this.exportButton.setAttribute("aria-expanded", String(open));
    if (open) (this.exportMenu.querySelector("a") as HTMLElement | null)?.focus();
  }
}
