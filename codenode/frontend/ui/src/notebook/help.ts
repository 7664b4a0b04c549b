// The keyboard help overlay (h in command mode, or the toolbar's ? button).
import { h } from "../dom";
import { HELP } from "./keys";

export function openHelp(): void {
  const dialog = h(
    "dialog",
    { class: "shortcuts", "aria-label": "Keyboard shortcuts" },
    h("h2", {}, "Keyboard shortcuts"),
    HELP.map(([title, keys]) =>
      h("section", {}, h("h3", {}, title), h("dl", {}, keys.flatMap(([key, what]) => [h("dt", {}, h("kbd", {}, key)), h("dd", {}, what)]))),
    ),
    h("form", { method: "dialog" }, h("button", { class: "primary" }, "Close")),
  );
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "h") dialog.close();
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
