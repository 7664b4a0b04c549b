// The bookshelf: the user's notebooks by place (top, folders, archive, trash, shared with me),
// sortable, searchable, with New notebook and Import. Moving between places changes the address
// (history.pushState) without reloading the page.
import type { Page } from "../main";
import { h } from "../dom";
import { pageFrame } from "./header";
import { confirmDialog } from "./dialog";
import { MessageLine } from "./feedback";
import { importControl } from "./import-notebook";
import { openMoveDialog } from "./move-notebook";
import { openNewNotebookDialog } from "./new-notebook";
import { notebookLink, notebookTable, type RowActions } from "./notebook-list";
import { searchNotebooks, searchResultList } from "./search";
import { loadSettings } from "./settings";
import { shelfNav } from "./shelf-nav";
import {
  addressOf,
  deleteNotebook,
  folderCounts,
  listNotebooks,
  moveNotebook,
  shelfName,
  viewFromAddress,
  type FolderCounts,
  type NotebookSummary,
  type Shelf,
  type View,
} from "./shelf";

const EMPTY: Record<Shelf["kind"], string> = {
  top: "No notebooks here yet. Make one with “New notebook”, or import a .ipynb or .py file.",
  folder: "This folder is empty.",
  archive: "Nothing is archived. Archive notebooks you want to keep but not see every day.",
  trash: "The Trash is empty.",
  shared: "No one has shared a notebook with you yet.",
};

export const renderBookshelf: Page = (root, me) => {
  const newTab = loadSettings().newTab;
  let view: View = viewFromAddress(location.search);
  let counts: FolderCounts | null = null;
  let loading = 0; // answers to older requests are dropped
  let query = "";

  const status = new MessageLine("status");
  const error = new MessageLine("error");
  const navSlot = h("div", { class: "nav-slot" });
  const listSlot = h("div", { class: "list-slot", "aria-live": "polite", "aria-busy": "false" });
  const searchBox = h("input", {
    type: "search",
    name: "q",
    "aria-label": "Search notebooks",
    placeholder: "Search notebooks",
    autocomplete: "off",
    maxlength: 1000,
  });
  /** The folder new and imported notebooks go in: the one shown, else the top. */
  const targetFolder = () => (view.shelf.kind === "folder" ? view.shelf.name : "");

  const main = pageFrame(
    root,
    me,
    "bookshelf",
    shelfName(view.shelf),
    h(
      "div",
      { class: "shelf-layout" },
      navSlot,
      h(
        "section",
        { class: "shelf-content", "aria-label": "Notebooks" },
        h(
          "div",
          { class: "shelf-toolbar" },
          h(
            "button",
            { type: "button", class: "primary", onclick: () => openNewNotebookDialog(targetFolder(), me.user?.is_admin ?? false) },
            "New notebook",
          ),
          importControl(targetFolder, imported, (failure) => {
            status.clear();
            error.showError(failure);
          }),
          searchForm(),
        ),
        status.element,
        error.element,
        listSlot,
      ),
    ),
  );
  const heading = main.querySelector("h1")!;
  heading.tabIndex = -1; // focus lands here after a change of shelf

  function searchForm(): HTMLFormElement {
    let timer = 0;
    const element = h("form", { class: "search-form", role: "search" }, searchBox);
    element.addEventListener("submit", (event) => {
      event.preventDefault();
      window.clearTimeout(timer);
      void search(searchBox.value);
    });
    searchBox.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void search(searchBox.value), 250);
    });
    searchBox.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && searchBox.value) {
        event.preventDefault(); // do not let Esc do anything else here
        searchBox.value = "";
        void search("");
      }
    });
    return element;
  }

  function imported(notebook: { id: string; title: string }): void {
    error.clear();
    status.element.replaceChildren(
      `Imported “${notebook.title}”. `,
      notebookLink(notebook.id, `Open ${notebook.title}`, newTab),
    );
    status.element.hidden = false;
    void refresh();
  }

  async function search(text: string): Promise<void> {
    query = text.trim();
    if (!query) {
      await refresh();
      return;
    }
    const ticket = ++loading;
    listSlot.setAttribute("aria-busy", "true");
    heading.textContent = "Search"; // results come from every shelf but the Trash
    try {
      const results = await searchNotebooks(query);
      if (ticket !== loading) return;
      error.clear();
      listSlot.replaceChildren(searchResultList(query, results, newTab));
    } catch (failure) {
      if (ticket === loading) error.showError(failure);
    } finally {
      if (ticket === loading) listSlot.setAttribute("aria-busy", "false");
    }
  }

  /** Loads the counts and the current shelf's notebooks (or the search's results) again. */
  async function refresh(): Promise<void> {
    const ticket = ++loading;
    listSlot.setAttribute("aria-busy", "true");
    try {
      const [freshCounts, notebooks] = await Promise.all([folderCounts(), query ? null : listNotebooks(view)]);
      if (ticket !== loading) return;
      counts = freshCounts;
      if (!query) heading.textContent = shelfName(view.shelf);
      navSlot.replaceChildren(shelfNav(view.shelf, counts, go));
      if (notebooks) {
        listSlot.replaceChildren(
          notebooks.length
            ? notebookTable(notebooks, view.shelf, view.sorting, newTab, sortBy, actions)
            : h("div", { class: "empty-state" }, h("p", {}, EMPTY[view.shelf.kind])),
        );
      }
    } catch (failure) {
      if (ticket === loading) error.showError(failure);
    } finally {
      if (ticket === loading) listSlot.setAttribute("aria-busy", "false");
    }
    if (query) await search(query);
  }

  function show(next: View, push: boolean): void {
    view = next;
    if (push) history.pushState(null, "", addressOf(view));
    heading.textContent = shelfName(view.shelf);
    document.title = `${shelfName(view.shelf)} · Codenode`;
    error.clear();
    status.clear();
    void refresh();
  }

  function go(shelf: Shelf): void {
    query = "";
    searchBox.value = "";
    show({ shelf, sorting: view.sorting }, true);
    heading.focus();
  }

  function sortBy(sorting: View["sorting"]): void {
    show({ shelf: view.shelf, sorting }, true);
    // Keep the keyboard where it was: on the header just clicked.
    void afterRefresh(() => listSlot.querySelector<HTMLElement>(`th[aria-sort] .sort-button`)?.focus());
  }

  async function afterRefresh(then: () => void): Promise<void> {
    // refresh() runs asynchronously; wait for the list to be replaced, then place focus.
    await new Promise<void>((resolve) => {
      const observer = new MutationObserver(() => {
        observer.disconnect();
        resolve();
      });
      observer.observe(listSlot, { childList: true });
    });
    then();
  }

  async function relocate(notebook: NotebookSummary, target: string, done: string): Promise<void> {
    try {
      await moveNotebook(notebook.id, target);
      moved(notebook, done);
    } catch (failure) {
      status.clear();
      error.showError(failure);
    }
  }

  function moved(notebook: NotebookSummary, done: string): void {
    error.clear();
    status.show(`“${notebook.title || "Untitled"}” ${done}.`);
    // The row goes away: put the focus on the next notebook, or on the heading.
    const row = listSlot.querySelector(`tr[data-notebook-id="${CSS.escape(notebook.id)}"]`);
    const nextId = (row?.nextElementSibling ?? row?.previousElementSibling)?.getAttribute("data-notebook-id");
    void afterRefresh(() => {
      const next = nextId ? listSlot.querySelector<HTMLElement>(`tr[data-notebook-id="${CSS.escape(nextId)}"] a`) : null;
      (next ?? heading).focus();
    });
    void refresh();
  }

  const where = (target: string) =>
    target === "" ? "moved to Notebooks"
    : target === "archive" ? "archived"
    : target === "trash" ? "moved to the Trash"
    : `moved to the folder “${target}”`;

  const actions: RowActions = {
    move: (notebook) =>
      openMoveDialog(notebook, counts?.folders.map((folder) => folder.name) ?? [], (target) => moved(notebook, where(target))),
    trash: (notebook) => void relocate(notebook, "trash", "moved to the Trash"),
    restore: (notebook) => void relocate(notebook, "", "restored to Notebooks"),
    deleteForGood: async (notebook) => {
      const title = notebook.title || "Untitled";
      const sure = await confirmDialog(
        `Delete “${title}” for good?`,
        "Its cells, outputs, revisions and shares are deleted. This cannot be undone.",
        "Delete for good",
      );
      if (!sure) return;
      try {
        await deleteNotebook(notebook.id);
        moved(notebook, "deleted for good");
      } catch (failure) {
        status.clear();
        error.showError(failure);
      }
    },
  };

  window.addEventListener("popstate", () => {
    if (location.pathname !== "/") return;
    query = "";
    searchBox.value = "";
    show(viewFromAddress(location.search), false);
  });
  show(view, false);
};
