// The workspace as a tree in the Files panel: a folder's content is fetched when it is opened,
// and every entry has its actions (copy path, rename or move, delete); a file's name is its
// download link. What to do with an action is the panel's business (TreeActions). Under the
// tree, how full the workspace is, for one with a size limit (SpaceMeter).
import { ApiError } from "../api";
import { h } from "../dom";
import { formatDate } from "../pages/format";
import { downloadUrl, listFolder, type FileEntry, type Space } from "./workspace-files";

export interface TreeActions {
  copyPath(path: string): void;
  rename(entry: FileEntry, to: string): Promise<void>;
  remove(entry: FileEntry): void;
  failed(error: unknown): void;
}

function action(label: string, title: string, text: string, onclick: () => void): HTMLButtonElement {
  return h("button", { type: "button", class: "file-action", "aria-label": label, title, onclick: () => onclick() }, text);
}

/** Where *path* is: its folder ("" for the top). */
export const folderOf = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf("/")));

/** Bytes in binary units, as a workspace's size limit is given: "16 MiB", "3.2 MiB", "512 B".
 *  The whole panel says sizes so, for one unit throughout. */
export function formatBinaryBytes(bytes: number | null): string {
  if (bytes === null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Tenths below 100, so that 15.2 of 16 MiB is not "15 of 16"; none where they are zero.
  const shown = unit > 0 && value < 100 ? String(Number(value.toFixed(1))) : String(Math.round(value));
  return `${shown} ${units[unit]}`;
}

const NEARLY_FULL = 0.9;

/** "3.2 MiB of 16 MiB used" and a thin bar; warns from 90% on. Hidden for a workspace
 *  without a size limit (its listing has no space). */
export class SpaceMeter {
  private text = h("span", { class: "files-space-text" });
  private fill = h("span", { class: "files-space-fill" });
  private bar = h("span", { class: "files-space-bar", role: "meter", "aria-label": "Workspace space used", "aria-valuemin": "0" }, this.fill);
  readonly element = h("div", { class: "files-space" }, this.text, this.bar);

  constructor() {
    this.element.hidden = true;
  }

  show(space: Space | undefined): void {
    this.element.hidden = !space;
    if (!space) return;
    const share = space.size > 0 ? Math.min(space.used / space.size, 1) : 1;
    const state = share >= 1 ? ": the workspace is full" : share >= NEARLY_FULL ? ": nearly full" : "";
    const text = `${formatBinaryBytes(space.used)} of ${formatBinaryBytes(space.size)} used${state}`;
    this.text.textContent = text;
    this.element.classList.toggle("nearly-full", share >= NEARLY_FULL);
    this.element.title = `${Math.round(share * 100)}% of the workspace's size limit`;
    this.fill.style.width = `${share * 100}%`;
    this.bar.setAttribute("aria-valuemax", String(space.size));
    this.bar.setAttribute("aria-valuenow", String(Math.min(space.used, space.size)));
    this.bar.setAttribute("aria-valuetext", text);
  }
}

export class FileTree {
  readonly element = h("ul", { class: "file-tree", "aria-label": "Workspace files" });
  readonly empty = h(
    "p",
    { class: "files-empty" },
    "No files yet. Drop files here or choose Upload; cells run in this folder, so open(\"data.csv\") reads data.csv.",
  );
  /** How full the workspace is, drawn with each listing of its top. */
  readonly space = new SpaceMeter();
  private open = new Set<string>();

  constructor(private actions: TreeActions) {
    this.empty.hidden = true;
  }

  /** Draw the workspace again from the server: its top and every folder left open, and how
   *  full it is. */
  async refresh(): Promise<void> {
    const top = await listFolder("");
    const items = await Promise.all(top.entries.map((entry) => this.item(entry)));
    this.element.replaceChildren(...items);
    this.empty.hidden = items.length > 0;
    this.space.show(top.space);
  }

  /** Open *folder* (and the folders above it) at the next refresh. */
  reveal(folder: string): void {
    const names = folder.split("/").filter(Boolean);
    names.forEach((_, i) => this.open.add(names.slice(0, i + 1).join("/")));
  }

  private async item(entry: FileEntry): Promise<HTMLLIElement> {
    const item = h("li", { class: "file-entry", "data-path": entry.path, "data-kind": entry.kind });
    item.append(this.row(entry, item));
    if (entry.kind === "folder" && this.open.has(entry.path)) await this.fill(item, entry.path);
    return item;
  }

  /** Append the content of the folder at *path* to its item. */
  private async fill(item: HTMLLIElement, path: string): Promise<void> {
    try {
      const listing = await listFolder(path);
      const children = await Promise.all(listing.entries.map((entry) => this.item(entry)));
      const list = h("ul", { class: "file-tree" }, children);
      if (!children.length) list.append(h("li", { class: "file-entry files-empty-folder" }, "(empty)"));
      item.append(list);
    } catch (error) {
      this.open.delete(path);
      if (!(error instanceof ApiError && error.status === 404)) this.actions.failed(error);
    }
  }

  private row(entry: FileEntry, item: HTMLLIElement): HTMLElement {
    let name: HTMLElement;
    if (entry.kind === "folder") {
      const toggle = h("button", { type: "button", class: "file-name folder-toggle", "aria-expanded": String(this.open.has(entry.path)) }, entry.name);
      toggle.addEventListener("click", () => void this.toggle(entry.path, item, toggle));
      name = toggle;
    } else if (entry.kind === "file") {
      name = h("a", { class: "file-name", href: downloadUrl(entry.path), download: entry.name, title: `Download ${entry.path}` }, entry.name);
    } else {
      const why = entry.kind === "link" ? "A symbolic link: links are not followed here" : "Not a regular file";
      name = h("span", { class: "file-name", title: why }, entry.name);
    }
    const size = entry.kind === "file" ? formatBinaryBytes(entry.size) : entry.kind === "link" ? "link" : "";
    const modified = formatDate(new Date(entry.modified * 1000).toISOString());
    return h(
      "div",
      { class: "file-row", title: modified ? `Modified ${modified}` : null },
      name,
      h("span", { class: "file-size" }, size),
      h(
        "span",
        { class: "file-actions" },
        action(`Copy path of ${entry.path}`, "Copy path", "Copy", () => this.actions.copyPath(entry.path)),
        action(`Rename ${entry.path}`, "Rename or move", "✎", () => this.editName(entry, name)),
        action(`Delete ${entry.path}`, "Delete", "✕", () => this.actions.remove(entry)),
      ),
    );
  }

  private async toggle(path: string, item: HTMLLIElement, button: HTMLButtonElement): Promise<void> {
    const opening = !this.open.has(path);
    item.querySelector(":scope > ul")?.remove();
    if (opening) {
      this.open.add(path);
      await this.fill(item, path);
    } else {
      for (const inner of [...this.open]) if (inner === path || inner.startsWith(path + "/")) this.open.delete(inner);
    }
    button.setAttribute("aria-expanded", String(this.open.has(path)));
  }

  /** The name becomes an input holding the whole path: Enter renames (or moves, if the
   *  folder part changed), Esc or leaving it cancels. */
  private editName(entry: FileEntry, name: HTMLElement): void {
    if (!name.isConnected) return;
    const input = h("input", { type: "text", class: "file-name-input", "aria-label": `New path for ${entry.path}`, spellcheck: "false" });
    input.value = entry.path;
    let done = false;
    const finish = async (save: boolean) => {
      if (done) return;
      done = true;
      const to = input.value.trim().replace(/^\/+|\/+$/g, "");
      if (save && to && to !== entry.path) {
        input.disabled = true;
        try {
          await this.actions.rename(entry, to);
          return; // the panel draws the tree again
        } catch (error) {
          this.actions.failed(error);
        }
      }
      input.replaceWith(name);
      name.focus();
    };
    input.addEventListener("keydown", (event) => {
      event.stopPropagation(); // the notebook's command-mode keys are not for this input
      if (event.key === "Enter") void finish(true);
      else if (event.key === "Escape") void finish(false);
    });
    input.addEventListener("blur", () => void finish(false));
    name.replaceWith(input);
    input.focus();
    input.setSelectionRange(folderOf(entry.path).length ? folderOf(entry.path).length + 1 : 0, entry.path.length);
  }
}
