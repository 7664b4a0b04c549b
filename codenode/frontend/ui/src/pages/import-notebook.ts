// Import a .ipynb or .py file: a file input dressed as a button (label), sent as multipart.
import { post } from "../api";
import { h } from "../dom";

export interface ImportedNotebook {
  id: string;
  title: string;
}

/**
 * The "Import…" control. *target* says where the notebook goes (a folder, or "" for the top);
 * *done* and *failed* report the outcome.
 */
export function importControl(
  target: () => string,
  done: (notebook: ImportedNotebook) => void,
  failed: (error: unknown) => void,
): HTMLElement {
  const input = h("input", {
    type: "file",
    class: "file-input",
    accept: ".ipynb,.py",
    "aria-label": "Import notebook",
  });
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    if (!file) return;
    const data = new FormData();
    data.append("file", file, file.name);
    const folder = target();
    if (folder) data.append("location", folder);
    label.classList.add("working");
    try {
      done((await post("/api/notebooks/import", data)) as ImportedNotebook);
    } catch (failure) {
      failed(failure);
    } finally {
      label.classList.remove("working");
      input.value = ""; // choosing the same file again imports it again
    }
  });
  const label = h("label", { class: "button-like", title: "Import a Jupyter notebook (.ipynb) or a Python file (.py)" }, input, "Import…");
  return label;
}
