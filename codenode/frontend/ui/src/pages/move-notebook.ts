// "Move…": put a notebook at the top, in a folder (an existing one or a new one), or in the
// archive. Folders exist while a notebook is in them, so a new folder is just a new name.
import { h } from "../dom";
import { openDialog } from "./dialog";
import { busy, MessageLine } from "./feedback";
import { field, form } from "./form";
import { moveNotebook, type NotebookSummary } from "./shelf";

const NEW_FOLDER = "\u0000new"; // cannot be a folder name (printable characters only)

export function openMoveDialog(notebook: NotebookSummary, folders: string[], moved: (location: string) => void): void {
  const { body, close } = openDialog("move-notebook", `Move “${notebook.title || "Untitled"}”`);
  const error = new MessageLine("error");
  const selectId = "move-notebook-location";
  const option = (value: string, label: string) =>
    h("option", { value, selected: value === notebook.location ? true : null }, label);
  const destination = h(
    "select",
    { id: selectId, name: "location" },
    option("", "Notebooks (top of the bookshelf)"),
    folders.length ? h("optgroup", { label: "Folders" }, folders.map((name) => option(name, name))) : null,
    option("archive", "Archive"),
    option(NEW_FOLDER, "New folder…"),
  );
  const newFolder = field("folder", "New folder’s name", { maxlength: 100, help: "Up to 100 characters, without “/”." });
  newFolder.row.hidden = true;
  destination.addEventListener("change", () => {
    newFolder.row.hidden = destination.value !== NEW_FOLDER;
    if (!newFolder.row.hidden) newFolder.input.focus();
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Move");
  const move = async () => {
    error.clear();
    const target = destination.value === NEW_FOLDER ? newFolder.input.value.trim() : destination.value;
    if (destination.value === NEW_FOLDER && !target) {
      error.show("Name the new folder.");
      newFolder.input.focus();
      return;
    }
    if (target === notebook.location) {
      close();
      return;
    }
    try {
      await busy(submit, () => moveNotebook(notebook.id, target));
      close();
      moved(target);
    } catch (failure) {
      error.showError(failure);
    }
  };
  body.append(
    form(
      "move-form",
      move,
      h("div", { class: "field" }, h("label", { for: selectId }, "Move to"), destination),
      newFolder.row,
      error.element,
      h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: () => close() }, "Cancel"), submit),
    ),
  );
  destination.focus();
}
