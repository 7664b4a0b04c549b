// Modal dialogs on the native <dialog> element: focus is trapped and Esc closes them for free.
// Each dialog is made when opened and removed when closed, so no state leaks between uses.
import { h } from "../dom";

export interface DialogParts {
  dialog: HTMLDialogElement;
  /** Where the dialog's content goes. */
  body: HTMLDivElement;
  close: () => void;
}

let counter = 0;

/** Opens a modal dialog with a heading and a Close button; *onClose* runs once it is gone. */
export function openDialog(className: string, title: string, onClose?: () => void): DialogParts {
  counter += 1;
  const headingId = `dialog-heading-${counter}`;
  const body = h("div", { class: "dialog-body" });
  const dialog = h(
    "dialog",
    { class: `modal ${className}`, "aria-labelledby": headingId },
    h(
      "div",
      { class: "dialog-head" },
      h("h2", { id: headingId }, title),
      h("button", { type: "button", class: "dialog-close", "aria-label": "Close", onclick: () => dialog.close() }, "×"),
    ),
    body,
  );
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener?.focus();
    onClose?.();
  });
  // A click on the backdrop (outside the dialog's box) closes it, as people expect.
  dialog.addEventListener("mousedown", (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside =
      event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) dialog.close();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, close: () => dialog.close() };
}

/** Asks to confirm something that cannot be undone; resolves true only on the confirm button. */
export function confirmDialog(question: string, detail: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    let confirmed = false;
    const { body, close } = openDialog("confirm", question, () => resolve(confirmed));
    const cancel = h("button", { type: "button", onclick: () => close() }, "Cancel");
    const confirm = h(
      "button",
      {
        type: "button",
        class: "primary danger-fill",
        onclick: () => {
          confirmed = true;
          close();
        },
      },
      confirmLabel,
    );
    body.append(h("p", {}, detail), h("div", { class: "dialog-actions" }, cancel, confirm));
    cancel.focus(); // the safe choice has the focus
  });
}
