// Full-text search over the user's notebooks. Snippets come as plain text with the ranges of the
// matching words; the highlight is built from text nodes and <mark>, never from HTML.
import { get } from "../api";
import { h } from "../dom";
import { notebookLink } from "./notebook-list";

export interface SearchResult {
  notebook_id: string;
  title: string;
  snippet: string;
  matches: [number, number][];
}

export async function searchNotebooks(query: string): Promise<SearchResult[]> {
  const answer = (await get(`/api/search?${new URLSearchParams({ q: query, limit: "50" })}`)) as { results: SearchResult[] };
  return answer.results;
}

/**
 * *text* with the ranges in *matches* wrapped in <mark>; bad or overlapping ranges are skipped.
 * The server counts characters as Python does (code points), so the text is sliced by code points.
 */
export function highlight(text: string, matches: [number, number][]): Node[] {
  const chars = Array.from(text);
  const part = (start: number, end: number) => chars.slice(start, end).join("");
  const nodes: Node[] = [];
  let at = 0;
  for (const [start, end] of [...matches].sort((a, b) => a[0] - b[0])) {
    if (start < at || end <= start || end > chars.length) continue;
    if (start > at) nodes.push(document.createTextNode(part(at, start)));
    nodes.push(h("mark", {}, part(start, end)));
    at = end;
  }
  if (at < chars.length) nodes.push(document.createTextNode(part(at, chars.length)));
  return nodes;
}

export function searchResultList(query: string, results: SearchResult[], newTab: boolean): HTMLElement {
  if (results.length === 0) {
    return h(
      "div",
      { class: "empty-state" },
      h("p", {}, `No notebooks match “${query}”.`),
      h("p", { class: "help" }, "Every word must appear in the notebook; notebooks in the Trash are not searched."),
    );
  }
  return h(
    "section",
    { class: "search-results", "aria-label": "Search results" },
    h("p", { class: "help" }, `${results.length === 1 ? "One notebook matches" : `${results.length} notebooks match`} “${query}”.`),
    h(
      "ol",
      {},
      results.map((result) =>
        h(
          "li",
          { class: "search-result" },
          notebookLink(result.notebook_id, result.title, newTab),
          result.snippet ? h("p", { class: "snippet mono" }, highlight(result.snippet, result.matches)) : null,
        ),
      ),
    ),
  );
}
