// The notebooks of one shelf as a table: sortable by title, engine type and dates (the server
// sorts), each row with what can be done to it there.
import { h } from "../dom";
import { timeElement } from "./format";
import type { NotebookSummary, Shelf, SortKey, Sorting } from "./shelf";

export interface RowActions {
  move(notebook: NotebookSummary): void;
  trash(notebook: NotebookSummary): void;
  restore(notebook: NotebookSummary): void;
  deleteForGood(notebook: NotebookSummary): void;
}

/** A link to a notebook (a.notebook-link), in a new tab if the setting says so. */
export function notebookLink(id: string, title: string, newTab: boolean): HTMLAnchorElement {
  return h(
    "a",
    {
      class: "notebook-link",
      href: `/notebooks/${encodeURIComponent(id)}`,
      target: newTab ? "_blank" : null,
      rel: newTab ? "noopener" : null,
    },
    title || "Untitled",
  );
}

const COLUMNS: { key: SortKey; label: string; className: string }[] = [
  { key: "title", label: "Title", className: "col-title" },
  { key: "engine_type", label: "Engine type", className: "col-engine" },
  { key: "created", label: "Created", className: "col-created" },
  { key: "updated", label: "Updated", className: "col-updated" },
];

function sortHeader(column: (typeof COLUMNS)[number], sorting: Sorting, sortBy: (sorting: Sorting) => void): HTMLElement {
  const active = sorting.sort === column.key;
  // Dates sort newest first on the first click, words from A.
  const firstOrder = column.key === "created" || column.key === "updated" ? "desc" : "asc";
  const nextOrder = active ? (sorting.order === "asc" ? "desc" : "asc") : firstOrder;
  const arrow = active ? (sorting.order === "asc" ? "▲" : "▼") : "";
  return h(
    "th",
    {
      scope: "col",
      class: column.className,
      "aria-sort": active ? (sorting.order === "asc" ? "ascending" : "descending") : null,
    },
    h(
      "button",
      {
        type: "button",
        class: "sort-button",
        title: `Sort by ${column.label.toLowerCase()}`,
        onclick: () => sortBy({ sort: column.key, order: nextOrder }),
      },
      column.label,
      h("span", { class: "sort-arrow", "aria-hidden": "true" }, arrow),
    ),
  );
}

function actionsFor(notebook: NotebookSummary, shelf: Shelf, actions: RowActions): HTMLElement[] {
  const title = notebook.title || "Untitled";
  const button = (label: string, aria: string, run: () => void, className = "") =>
    h("button", { type: "button", class: className || null, "aria-label": aria, title: aria, onclick: run }, label);
  if (shelf.kind === "shared") return [];
  if (shelf.kind === "trash") {
    return [
      button("Restore", `Restore ${title} to Notebooks`, () => actions.restore(notebook)),
      button("Delete for good", `Delete ${title} for good`, () => actions.deleteForGood(notebook), "danger"),
    ];
  }
  return [
    button("Move…", `Move ${title} to a folder or the archive`, () => actions.move(notebook)),
    button("Trash", `Move ${title} to the Trash`, () => actions.trash(notebook), "danger"),
  ];
}

export function notebookTable(
  notebooks: NotebookSummary[],
  shelf: Shelf,
  sorting: Sorting,
  newTab: boolean,
  sortBy: (sorting: Sorting) => void,
  actions: RowActions,
): HTMLTableElement {
  const shared = shelf.kind === "shared";
  const rows = notebooks.map((notebook) =>
    h(
      "tr",
      { "data-notebook-id": notebook.id },
      h(
        "td",
        { class: "col-title" },
        notebookLink(notebook.id, notebook.title, newTab),
        notebook.public_link && !shared ? h("span", { class: "badge", title: "Anyone with the link can read it" }, "public") : null,
      ),
      h("td", { class: "col-engine" }, notebook.engine_type),
      h("td", { class: "col-created" }, timeElement(notebook.created)),
      h("td", { class: "col-updated" }, timeElement(notebook.updated)),
      shared ? h("td", { class: "col-owner" }, notebook.owner ?? "") : null,
      shared ? h("td", { class: "col-role" }, notebook.role ?? "") : null,
      shared ? null : h("td", { class: "col-actions" }, h("div", { class: "row-actions" }, actionsFor(notebook, shelf, actions))),
    ),
  );
  return h(
    "table",
    { class: "notebooks" },
    h("caption", { class: "visually-hidden" }, "Notebooks; column headers sort"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        COLUMNS.map((column) => sortHeader(column, sorting, sortBy)),
        shared ? h("th", { scope: "col", class: "col-owner" }, "Owner") : null,
        shared ? h("th", { scope: "col", class: "col-role" }, "Your role") : null,
        shared ? null : h("th", { scope: "col", class: "col-actions" }, h("span", { class: "visually-hidden" }, "Actions")),
      ),
    ),
    h("tbody", {}, rows),
  );
}
