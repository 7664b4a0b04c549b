// The bookshelf's places and the notebooks in them: what the REST API answers, and how a place
// and its sort order are written in the address (/?folder=Orbits&sort=title&order=asc).
import { del, get, put } from "../api";

export interface NotebookSummary {
  id: string;
  title: string;
  owner_id: number;
  engine_type: string;
  created: string;
  updated: string;
  location: string;
  public_link: boolean;
  /** Only for notebooks shared with the user. */
  owner?: string;
  role?: "owner" | "collaborator" | "viewer" | "public";
}

export interface FolderCounts {
  top: number;
  trash: number;
  archive: number;
  folders: { name: string; count: number }[];
}

export type Shelf =
  | { kind: "top" }
  | { kind: "folder"; name: string }
  | { kind: "archive" }
  | { kind: "trash" }
  | { kind: "shared" };

export type SortKey = "title" | "engine_type" | "created" | "updated";
export type SortOrder = "asc" | "desc";
export interface Sorting {
  sort: SortKey;
  order: SortOrder;
}

export interface View {
  shelf: Shelf;
  sorting: Sorting;
}

const SORT_KEYS: SortKey[] = ["title", "engine_type", "created", "updated"];
export const DEFAULT_SORTING: Sorting = { sort: "updated", order: "desc" };

/** The location value the API uses for a shelf (shared has none). */
function locationOf(shelf: Shelf): string {
  switch (shelf.kind) {
    case "folder":
      return shelf.name;
    case "archive":
    case "trash":
      return shelf.kind;
    default:
      return "";
  }
}

export function shelfName(shelf: Shelf): string {
  switch (shelf.kind) {
    case "top":
      return "Notebooks";
    case "folder":
      return shelf.name;
    case "archive":
      return "Archive";
    case "trash":
      return "Trash";
    case "shared":
      return "Shared with me";
  }
}

export function sameShelf(a: Shelf, b: Shelf): boolean {
  return a.kind === b.kind && (a.kind !== "folder" || (b.kind === "folder" && a.name === b.name));
}

export function viewFromAddress(search: string): View {
  const query = new URLSearchParams(search);
  const folder = query.get("folder");
  const named = query.get("shelf");
  const shelf: Shelf = folder
    ? { kind: "folder", name: folder }
    : named === "trash" || named === "archive" || named === "shared"
      ? { kind: named }
      : { kind: "top" };
  const sort = query.get("sort") as SortKey | null;
  const order = query.get("order");
  return {
    shelf,
    sorting: {
      sort: sort && SORT_KEYS.includes(sort) ? sort : DEFAULT_SORTING.sort,
      order: order === "asc" || order === "desc" ? order : DEFAULT_SORTING.order,
    },
  };
}

export function addressOf(view: View): string {
  const query = new URLSearchParams();
  const { shelf, sorting } = view;
  if (shelf.kind === "folder") query.set("folder", shelf.name);
  else if (shelf.kind !== "top") query.set("shelf", shelf.kind);
  if (sorting.sort !== DEFAULT_SORTING.sort || sorting.order !== DEFAULT_SORTING.order) {
    query.set("sort", sorting.sort);
    query.set("order", sorting.order);
  }
  const text = query.toString();
  return text ? `/?${text}` : "/";
}

export async function listNotebooks(view: View): Promise<NotebookSummary[]> {
  const query = new URLSearchParams({ sort: view.sorting.sort, order: view.sorting.order });
  if (view.shelf.kind === "shared") {
    return ((await get(`/api/notebooks/shared?${query}`)) as { notebooks: NotebookSummary[] }).notebooks;
  }
  query.set("location", locationOf(view.shelf));
  return ((await get(`/api/notebooks?${query}`)) as { notebooks: NotebookSummary[] }).notebooks;
}

export async function folderCounts(): Promise<FolderCounts> {
  return (await get("/api/folders")) as FolderCounts;
}

export async function moveNotebook(id: string, location: string): Promise<void> {
  await put(`/api/notebooks/${encodeURIComponent(id)}/location`, { location });
}

export async function deleteNotebook(id: string): Promise<void> {
  await del(`/api/notebooks/${encodeURIComponent(id)}`);
}
