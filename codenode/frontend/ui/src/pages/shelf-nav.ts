// The list of places on the bookshelf (nav.shelves): the top, each folder, shared, archive, trash,
// with how many notebooks each holds. Links are real addresses; the bookshelf follows them
// without reloading the page.
import { h } from "../dom";
import { addressOf, DEFAULT_SORTING, sameShelf, shelfName, type FolderCounts, type Shelf } from "./shelf";

export function shelfNav(current: Shelf, counts: FolderCounts | null, go: (shelf: Shelf) => void): HTMLElement {
  const item = (shelf: Shelf, count: number | null, extraClass = "") => {
    const link = h(
      "a",
      {
        href: addressOf({ shelf, sorting: DEFAULT_SORTING }),
        class: `shelf-link ${extraClass}`.trim(),
        "aria-current": sameShelf(shelf, current) ? "page" : null,
      },
      h("span", { class: "shelf-name" }, shelfName(shelf)),
      count === null ? null : h("span", { class: "count", "aria-label": `${count} notebooks` }, String(count)),
    );
    link.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return; // a new tab is fine
      event.preventDefault();
      go(shelf);
    });
    return h("li", {}, link);
  };
  const folders = counts?.folders ?? [];
  // A folder in the address but without notebooks still shows, so that the page makes sense.
  if (current.kind === "folder" && !folders.some((folder) => folder.name === current.name)) {
    folders.push({ name: current.name, count: 0 });
  }
  return h(
    "nav",
    { class: "shelves", "aria-label": "Bookshelf" },
    h(
      "ul",
      {},
      item({ kind: "top" }, counts?.top ?? null),
      folders.map((folder) => item({ kind: "folder", name: folder.name }, folder.count, "folder")),
      item({ kind: "shared" }, null),
      item({ kind: "archive" }, counts?.archive ?? null),
      item({ kind: "trash" }, counts?.trash ?? null),
    ),
  );
}
