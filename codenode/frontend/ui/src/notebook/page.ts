// The notebook page: header, toolbar, cells, and the Files panel beside them; the bus connects
// them to the server.
import type { Page } from "../main";
import { ApiError, get } from "../api";
import { h, mount } from "../dom";
import { pageHeader } from "../pages/header";
import { loadSettings } from "../pages/settings";
import { openShareDialog } from "../pages/share";
import { openRevisionsDialog } from "../pages/revisions";
import { Bus, type BusStatus } from "./bus";
import { FilePanel } from "./files";
import { openHelp } from "./help";
import { warmUp } from "./markdown";
import { NotebookEditor } from "./notebook";
import { Saver } from "./saver";
import { Toolbar } from "./toolbar";

const NOTICE_MS = 6000;

/** Why the bus would not open (it gives no status): ask the REST API. */
async function whyRefused(root: HTMLElement, notebookId: string): Promise<boolean> {
  try {
    await get(`/api/notebooks/${encodeURIComponent(notebookId)}`);
    return false; // readable after all: keep retrying the bus
  } catch (error) {
    if (!(error instanceof ApiError)) return false;
    if (error.status === 401) {
      location.assign("/login?next=" + encodeURIComponent(location.pathname));
      return true;
    }
    mount(
      root,
      h(
        "main",
        { class: "page notebook-missing" },
        h("h1", {}, error.status === 404 ? "No such notebook" : "This notebook cannot be opened"),
        h("p", { class: "error-message", role: "alert" }, error.message),
        h("p", {}, h("a", { href: "/" }, "Back to the bookshelf")),
      ),
    );
    return true;
  }
}

export const renderNotebook: Page = (root, me, params) => {
  const notebookId = params.id;
  const settings = loadSettings();
  const notices = h("div", { class: "notices", role: "status", "aria-live": "polite" });
  const readOnly = h("p", { class: "read-only", role: "note" }, "Read-only: you can read and export this notebook, not change or run it.");
  readOnly.hidden = true;

  const notify = (message: string, kind?: "error") => {
    const note = h("div", { class: `notice ${kind ?? ""}` }, message);
    notices.append(note);
    window.setTimeout(() => note.remove(), kind === "error" ? NOTICE_MS * 2 : NOTICE_MS);
  };

  let editor: NotebookEditor;
  const onStatus = (status: BusStatus, everOpened: boolean) => {
    const line = toolbar.connection;
    line.dataset.state = status.state;
    if (status.state === "open") line.textContent = "";
    else if (status.state === "connecting") line.textContent = everOpened ? "Reconnecting…" : "Connecting…";
    else if (status.state === "lost") {
      saver.disconnected();
      line.textContent = `Connection lost: retrying in ${Math.round(status.retryIn / 100) / 10} s`;
    } else if (status.state === "refused") {
      line.textContent = "Could not connect";
      void whyRefused(root, notebookId).then((refused) => {
        if (!refused) window.setTimeout(() => bus.connect(), 1000);
      });
    } else {
      line.textContent = `Closed: ${status.reason}`;
      notify("Your access to this notebook was withdrawn.", "error");
      editor.receive({ type: "role", role: "viewer" });
    }
  };
  const bus = new Bus(notebookId, (message) => editor.receive(message), onStatus);
  const toolbar = new Toolbar(notebookId, {
    rename: (title) => editor.rename(title),
    engine: (op) => editor.engineControl(op),
    share: () => openShareDialog(notebookId),
    revisions: () =>
      openRevisionsDialog(notebookId, editor.locked ? null : () => notify("Reverted: the notebook was reloaded.")),
    addCell: () => editor.addCell(),
    deleteCell: () => editor.deleteCell(),
    moveCell: (by) => editor.move(undefined, by),
    copyCell: () => editor.copy(),
    pasteCell: () => editor.paste(),
    runCell: () => editor.run(editor.current(), "stay"),
    help: () => openHelp(),
    files: () => files.toggle(),
    notebook: (info) => files.setNotebook(info),
  });
  const files = new FilePanel(toolbar.filesToggle);
  const saver = new Saver(bus, (cellId) => editor.sourceOf(cellId), toolbar.saveState);
  editor = new NotebookEditor(bus, saver, toolbar, notify, (locked) => {
    readOnly.hidden = !locked;
    document.body.classList.toggle("notebook-locked", locked);
  });
  editor.numbering = settings.numbering;

  const notebookPage = h("div", { class: "notebook-page" }, toolbar.element, readOnly, editor.element, notices);
  mount(root, pageHeader(me, "notebook"), h("div", { class: "notebook-layout" }, notebookPage, files.element));

  // Nothing typed is lost: flushed when leaving the page; a warning if it could not be sent.
  window.addEventListener("beforeunload", (event) => {
    saver.flushAll();
    if (saver.pending && !bus.isOpen) event.preventDefault();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") saver.flushAll();
  });
  bus.connect();
  warmUp(); // while the server gathers the notebook
};
