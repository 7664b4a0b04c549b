// "New notebook": a title and one of the engine types the healthy backends offer. Creating it
// opens it.
import { get, post } from "../api";
import { h } from "../dom";
import { openDialog } from "./dialog";
import { busy, MessageLine } from "./feedback";
import { field, form } from "./form";

interface EngineType {
  name: string;
  description: string;
  backends: string[];
}

/** Opens the dialog; the notebook is made in *folder* ("" for the top of the bookshelf). */
export function openNewNotebookDialog(folder: string, isAdmin: boolean): void {
  const { body } = openDialog("new-notebook", "New notebook");
  const error = new MessageLine("error");
  const title = field("title", "Title", { value: "Untitled", maxlength: 500, required: true });
  const selectId = "new-notebook-engine-type";
  const engineType = h("select", { id: selectId, name: "engine_type", disabled: true }, h("option", { value: "" }, "Loading…"));
  const create = h("button", { type: "submit", class: "primary", disabled: true }, "Create");
  const cancel = h("button", { type: "button", onclick: () => body.closest("dialog")?.close() }, "Cancel");
  const submit = async () => {
    error.clear();
    if (!title.input.value.trim()) {
      error.show("Give the notebook a title.");
      title.input.focus();
      return;
    }
    if (!engineType.value) return;
    try {
      const made = (await busy(create, () =>
        post("/api/notebooks", { title: title.input.value.trim(), engine_type: engineType.value, location: folder }),
      )) as { id: string };
      location.assign(`/notebooks/${encodeURIComponent(made.id)}`);
    } catch (failure) {
      error.showError(failure);
    }
  };
  body.append(
    form(
      "new-notebook-form",
      submit,
      title.row,
      h("div", { class: "field" }, h("label", { for: selectId }, "Engine type"), engineType),
      folder ? h("p", { class: "help" }, `It goes in the folder “${folder}”.`) : null,
      error.element,
      h("div", { class: "dialog-actions" }, cancel, create),
    ),
  );
  title.input.select();
  title.input.focus();

  void get("/api/engine-types")
    .then((answer: { types: EngineType[] }) => {
      engineType.replaceChildren(
        ...answer.types.map((type) =>
          h("option", { value: type.name, title: type.description }, type.description ? `${type.name} — ${type.description}` : type.name),
        ),
      );
      if (answer.types.length === 0) {
        engineType.append(h("option", { value: "" }, "none available"));
        error.show(
          "No engine types are available: no healthy backend offers one. " +
            (isAdmin ? "Check the backends on the Admin page." : "Ask an admin to check the backends."),
        );
        return;
      }
      const python = answer.types.find((type) => type.name === "python");
      if (python) engineType.value = python.name;
      engineType.disabled = false;
      create.disabled = false;
    })
    .catch((failure: unknown) => {
      engineType.replaceChildren(h("option", { value: "" }, "unavailable"));
      error.showError(failure);
    });
}
