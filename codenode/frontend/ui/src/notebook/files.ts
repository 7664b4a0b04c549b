// The Files panel beside a notebook: the signed-in user's workspace, the folder their engines
// run in (docs/files.md). Upload (button or drop, with a progress line per file), download,
// new folder, rename, delete, and "copy path" for open("data.csv") in a cell; under the tree,
// how full the workspace is when it has a size limit.
//
// Files belong to a user, not to a notebook: on someone else's notebook the panel shows no
// files (the caller's own would mislead, the owner's are not theirs to see), only a note.
import { ApiError } from "../api";
import { h } from "../dom";
import { confirmDialog } from "../pages/dialog";
import { describe, Feedback } from "../pages/feedback";
import { FileTree, folderOf, formatBinaryBytes } from "./file-tree";
import type { NotebookInfo } from "./types";
import { deleteEntry, inFolder, makeFolder, renameEntry, uploadFile, type FileEntry } from "./workspace-files";

const OPEN_KEY = "codenode.files-open";

function remembered(): boolean {
  try {
    return localStorage.getItem(OPEN_KEY) === "1";
  } catch {
    return false; // storage disabled: closed by default
  }
}

export class FilePanel {
  readonly element: HTMLElement;
  private feedback = new Feedback();
  private tree: FileTree;
  private uploads = h("ul", { class: "file-uploads plain", "aria-label": "Uploads" });
  private input = h("input", { type: "file", multiple: true, hidden: true, "aria-label": "Upload files" });
  private folderForm: HTMLFormElement;
  private folderName = h("input", { type: "text", "aria-label": "New folder name", placeholder: "Folder name", spellcheck: "false" });
  private workspace: HTMLElement;
  private elsewhere = h(
    "p",
    { class: "files-note", role: "note" },
    "Files belong to the workspace of this notebook's owner: only they can see them. ",
    "Code run here reads and writes files in the owner's workspace.",
  );
  private loading = h("p", { class: "files-note" }, "Loading…");
  private owner: boolean | null = null;

  constructor(private toggleButton: HTMLButtonElement) {
    this.tree = new FileTree({
      copyPath: (path) => void this.copyPath(path),
      rename: (entry, to) => this.rename(entry, to),
      remove: (entry) => void this.remove(entry),
      failed: (error) => this.feedback.fail(error),
    });
    this.input.addEventListener("change", () => {
      const files = [...(this.input.files ?? [])];
      this.input.value = ""; // choosing the same file again is a change too
      void this.uploadAll(files, "");
    });
    this.folderForm = h(
      "form",
      { class: "files-new-folder" },
      this.folderName,
      h("button", { type: "submit" }, "Create"),
      h("button", { type: "button", onclick: () => this.showFolderForm(false) }, "Cancel"),
    );
    this.folderForm.hidden = true;
    this.folderForm.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.newFolder();
    });
    this.folderName.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.showFolderForm(false);
    });
    const tools = h(
      "div",
      { class: "files-tools" },
      h("button", { type: "button", onclick: () => this.input.click() }, "Upload"),
      h("button", { type: "button", onclick: () => this.showFolderForm(true) }, "New folder"),
      h("button", { type: "button", "aria-label": "Refresh files", title: "Refresh", onclick: () => void this.refresh() }, "↻"),
    );
    this.workspace = h(
      "div",
      { class: "files-workspace" },
      tools,
      this.input,
      this.folderForm,
      this.uploads,
      this.feedback.error.element,
      this.feedback.status.element,
      this.tree.element,
      this.tree.empty,
      this.tree.space.element,
      h("p", { class: "files-hint" }, "Drop files here to upload them. A cell's working directory is this folder."),
    );
    this.workspace.hidden = true;
    this.elsewhere.hidden = true;
    this.element = h(
      "aside",
      { id: "files-panel", class: "files-panel", "aria-labelledby": "files-heading" },
      h(
        "div",
        { class: "files-head" },
        h("h2", { id: "files-heading" }, "Files"),
        h("button", { type: "button", class: "files-close", "aria-label": "Close files", title: "Close", onclick: () => this.close() }, "×"),
      ),
      this.loading,
      this.workspace,
      this.elsewhere,
    );
    this.listenForDrops();
    this.toggle(remembered(), false);
  }

  /** Whose notebook this is decides what the panel shows. */
  setNotebook(info: NotebookInfo): void {
    const owner = info.role === "owner";
    if (owner === this.owner) return;
    this.owner = owner;
    this.loading.hidden = true;
    this.workspace.hidden = !owner;
    this.elsewhere.hidden = owner;
    if (owner && !this.element.hidden) void this.refresh();
  }

  /** Open or close the panel (the opposite of now, by default). */
  toggle(open = this.element.hidden, remember = true): void {
    this.element.hidden = !open;
    this.toggleButton.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("files-open", open);
    if (remember) {
      try {
        localStorage.setItem(OPEN_KEY, open ? "1" : "0");
      } catch {
        // storage disabled: the panel is not remembered, nothing else changes
      }
    }
    if (open && this.owner) void this.refresh();
  }

  private close(): void {
    this.toggle(false);
    this.toggleButton.focus();
  }

  /** The tree again from the server. */
  async refresh(): Promise<void> {
    if (!this.owner) return;
    try {
      await this.tree.refresh();
    } catch (error) {
      this.feedback.fail(error);
    }
  }

  private listenForDrops(): void {
    const panel = this.element;
    const target = (event: DragEvent) => (event.target as Element | null)?.closest?.<HTMLElement>('li[data-kind="folder"]') ?? null;
    panel.addEventListener("dragover", (event) => {
      if (!this.owner || !event.dataTransfer?.types.includes("Files")) return;
      event.preventDefault(); // this says "a drop is welcome here"
      event.dataTransfer.dropEffect = "copy";
      panel.classList.add("dropping");
      for (const marked of panel.querySelectorAll(".drop-target")) marked.classList.remove("drop-target");
      target(event)?.classList.add("drop-target");
    });
    panel.addEventListener("dragleave", (event) => {
      if (event.relatedTarget instanceof Node && panel.contains(event.relatedTarget)) return;
      this.endDrag();
    });
    panel.addEventListener("drop", (event) => {
      event.preventDefault(); // never let the browser open the dropped file instead
      this.endDrag();
      const items = [...(event.dataTransfer?.items ?? [])].filter((item) => item.kind === "file");
      // A dropped folder arrives as a File that cannot be read: say so rather than fail on it.
      const folders = items.filter((item) => item.webkitGetAsEntry()?.isDirectory).map((item) => item.getAsFile()?.name);
      const files = [...(event.dataTransfer?.files ?? [])].filter((file) => !folders.includes(file.name));
      if (!this.owner) return;
      if (folders.length) this.feedback.fail(new Error(`Folders cannot be uploaded (${folders.join(", ")}): drop the files in them.`));
      if (files.length) void this.uploadAll(files, target(event)?.dataset.path ?? "");
    });
  }

  private endDrag(): void {
    this.element.classList.remove("dropping");
    for (const marked of this.element.querySelectorAll(".drop-target")) marked.classList.remove("drop-target");
  }

  /** Each file in turn; then the tree again. Refusals (such as a full workspace's, which
   *  says its size limit) stay in view, a line each: what was sent besides is said after. */
  private async uploadAll(files: File[], folder: string): Promise<void> {
    const sent: string[] = [];
    const refused: string[] = [];
    for (const file of files) {
      const path = inFolder(folder, file.name);
      try {
        if (await this.upload(file, path)) sent.push(path);
      } catch (error) {
        refused.push(describe(error));
        this.feedback.fail(error);
      }
    }
    this.tree.reveal(folder);
    await this.refresh();
    const done = sent.length === 1 ? `Uploaded ${sent[0]}.` : `Uploaded ${sent.length} files${folder ? ` to ${folder}` : ""}.`;
    if (refused.length) this.feedback.fail(new Error([...refused, ...(sent.length ? [done] : [])].join("\n")));
    else if (sent.length) this.feedback.report(done);
  }

  /** One file, with its progress line; a taken path is replaced only if the user says so.
   *  Whether it was sent. */
  private async upload(file: File, path: string): Promise<boolean> {
    const text = h("span", { class: "upload-text" }, `${path}: starting…`);
    const bar = h("progress", { max: String(Math.max(file.size, 1)), value: "0", "aria-label": `Uploading ${path}` });
    const cancel = h("button", { type: "button", class: "file-action", "aria-label": `Cancel uploading ${path}`, title: "Cancel" }, "✕");
    const line = h("li", { class: "file-upload" }, text, bar, cancel);
    this.uploads.append(line);
    const attempt = (overwrite: boolean): Promise<FileEntry> => {
      const upload = uploadFile(file, path, overwrite, (done, total) => {
        bar.max = Math.max(total, 1);
        bar.value = done;
        text.textContent = `${path}: ${formatBinaryBytes(done)} of ${formatBinaryBytes(total)} (${Math.floor((done * 100) / Math.max(total, 1))}%)`;
      });
      cancel.onclick = () => upload.cancel();
      return upload.done;
    };
    try {
      try {
        await attempt(false);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409)) throw error;
        const replace = await confirmDialog(
          `Replace ${path}?`,
          `${path} is in your workspace already. Replace it with the file you are uploading?`,
          "Replace",
        );
        if (!replace) return false;
        await attempt(true);
      }
      return true;
    } finally {
      line.remove();
    }
  }

  private showFolderForm(show: boolean): void {
    this.folderForm.hidden = !show;
    this.folderName.value = "";
    if (show) this.folderName.focus();
  }

  private async newFolder(): Promise<void> {
    const path = this.folderName.value.trim().replace(/^\/+|\/+$/g, "");
    if (!path) return;
    try {
      await makeFolder(path);
      this.showFolderForm(false);
      this.tree.reveal(folderOf(path));
      await this.refresh();
      this.feedback.report(`Made the folder ${path}.`);
    } catch (error) {
      this.feedback.fail(error);
    }
  }

  private async rename(entry: FileEntry, to: string): Promise<void> {
    await renameEntry(entry.path, to);
    this.tree.reveal(folderOf(to));
    await this.refresh();
    this.feedback.report(`Renamed ${entry.path} to ${to}.`);
  }

  private async remove(entry: FileEntry): Promise<void> {
    const what = entry.kind === "folder" ? "The folder and everything in it" : "It";
    const sure = await confirmDialog(`Delete ${entry.path}?`, `${what} will be deleted from your workspace. This cannot be undone.`, "Delete");
    if (!sure) return;
    try {
      await deleteEntry(entry.path);
      await this.refresh();
      this.feedback.report(`Deleted ${entry.path}.`);
    } catch (error) {
      this.feedback.fail(error);
    }
  }

  private async copyPath(path: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(path);
      this.feedback.report(`Copied ${path} to the clipboard: in a cell, open(${JSON.stringify(path)}) reads it.`);
    } catch {
      this.feedback.fail(new Error(`The browser would not copy to the clipboard. The path is: ${path}`));
    }
  }
}
