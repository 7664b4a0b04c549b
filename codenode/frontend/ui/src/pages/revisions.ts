// The revisions dialog the notebook editor opens: the list (newest first), a read-only view of
// any snapshot as text, and revert (itself a new revision, so it can be undone the same way).
import { get, post } from "../api";
import { h } from "../dom";
import { openDialog } from "./dialog";
import { busy, MessageLine } from "./feedback";
import { formatDate, timeElement } from "./format";

interface Revision {
  id: number;
  created: string;
  author: string | null;
  summary: string;
}

type Output =
  | { type: "stream"; name: string; text: string }
  | { type: "display"; data: Record<string, string> }
  | { type: "error"; ename: string; evalue: string; traceback: string };

interface SnapshotCell {
  id: string;
  kind: string;
  source: string;
  outputs: Output[];
  execution_count: number | null;
}

interface Snapshot {
  title: string;
  engine_type: string;
  cells: SnapshotCell[];
}

const PAGE = 100;

/** An output as text: streams and tracebacks as they are, rich output by its plain text. */
function outputText(output: Output): HTMLElement {
  switch (output.type) {
    case "stream":
      return h("pre", { class: `snapshot-output ${output.name === "stderr" ? "stderr" : ""}`.trim() }, output.text);
    case "error":
      return h("pre", { class: "snapshot-output error" }, output.traceback || `${output.ename}: ${output.evalue}`);
    case "display": {
      const plain = output.data["text/plain"];
      const kinds = Object.keys(output.data).filter((kind) => kind !== "text/plain");
      return h("pre", { class: "snapshot-output" }, plain ?? `[${kinds.join(", ") || "output"}]`);
    }
  }
}

function snapshotView(revision: Revision, snapshot: Snapshot): HTMLElement {
  return h(
    "div",
    { class: "snapshot-body" },
    h(
      "p",
      { class: "help" },
      `“${snapshot.title}”, engine type ${snapshot.engine_type}, ${snapshot.cells.length} cells, ` +
        `as of ${formatDate(revision.created)}.`,
    ),
    snapshot.cells.map((cell, index) =>
      h(
        "article",
        { class: "snapshot-cell", "data-kind": cell.kind, "aria-label": `Cell ${index + 1}` },
        h(
          "div",
          { class: "snapshot-label" },
          cell.kind === "code" ? `In [${cell.execution_count ?? " "}]` : cell.kind,
        ),
        h("pre", { class: "snapshot-source" }, cell.source || " "),
        cell.outputs.map(outputText),
      ),
    ),
  );
}

/** The notebook's revisions; *onReverted* null: the reader may only look (a viewer). */
export function openRevisionsDialog(notebookId: string, onReverted: (() => void) | null): void {
  const base = `/api/notebooks/${encodeURIComponent(notebookId)}/revisions`;
  const { body, close } = openDialog("revisions", "Revisions");
  const error = new MessageLine("error");
  const list = h("ol", { class: "revision-list", "aria-label": "Revisions, newest first" }, h("li", { class: "help" }, "Loading…"));
  const more = h("button", { type: "button", hidden: true }, "Show older revisions");
  const listPane = h("div", { class: "revision-pane" }, list, more);
  const snapshotPane = h("section", { class: "snapshot", hidden: true, "aria-label": "Snapshot" });
  let loaded = 0;

  async function revert(revision: Revision, button: HTMLButtonElement): Promise<void> {
    error.clear();
    try {
      await busy(button, () => post(`${base}/${revision.id}/revert`));
      close();
      onReverted?.();
    } catch (failure) {
      error.showError(failure);
    }
  }

  async function view(revision: Revision, button: HTMLButtonElement): Promise<void> {
    error.clear();
    try {
      const answer = (await busy(button, () => get(`${base}/${revision.id}`))) as Revision & { snapshot: Snapshot };
      const back = h("button", { type: "button" }, "Back to the list");
      const revertButton = h("button", { type: "button", class: "primary" }, "Revert to this revision");
      back.addEventListener("click", () => {
        snapshotPane.hidden = true;
        listPane.hidden = false;
        button.focus();
      });
      revertButton.addEventListener("click", () => void revert(revision, revertButton));
      revertButton.hidden = onReverted === null;
      snapshotPane.replaceChildren(
        h(
          "div",
          { class: "snapshot-head" },
          h("h3", {}, `Revision ${revision.id}: ${revision.summary}`),
          h("div", { class: "snapshot-actions" }, back, revertButton),
        ),
        snapshotView(revision, answer.snapshot),
      );
      listPane.hidden = true;
      snapshotPane.hidden = false;
      back.focus();
    } catch (failure) {
      error.showError(failure);
    }
  }

  function item(revision: Revision): HTMLLIElement {
    const viewButton = h("button", { type: "button", "aria-label": `View revision ${revision.id}` }, "View");
    const revertButton = h("button", { type: "button", "aria-label": `Revert to revision ${revision.id}` }, "Revert");
    viewButton.addEventListener("click", () => void view(revision, viewButton));
    revertButton.addEventListener("click", () => void revert(revision, revertButton));
    revertButton.hidden = onReverted === null;
    return h(
      "li",
      { class: "revision", "data-revision-id": revision.id },
      h(
        "div",
        { class: "revision-text" },
        h("span", { class: "revision-summary" }, revision.summary),
        h(
          "span",
          { class: "revision-meta help" },
          `#${revision.id} · `,
          timeElement(revision.created),
          ` · ${revision.author ?? "a deleted account"}`,
        ),
      ),
      h("div", { class: "revision-actions" }, viewButton, revertButton),
    );
  }

  async function load(): Promise<void> {
    try {
      const answer = (await get(`${base}?limit=${PAGE}&offset=${loaded}`)) as { revisions: Revision[] };
      if (loaded === 0) list.replaceChildren();
      list.append(...answer.revisions.map(item));
      loaded += answer.revisions.length;
      more.hidden = answer.revisions.length < PAGE;
      if (loaded === 0) list.append(h("li", { class: "help" }, "No revisions yet."));
    } catch (failure) {
      if (loaded === 0) list.replaceChildren();
      error.showError(failure);
    }
  }

  more.addEventListener("click", () => void busy(more, load));
  body.append(listPane, snapshotPane, error.element);
  void load().then(() => list.querySelector<HTMLButtonElement>("li.revision button")?.focus());
}
