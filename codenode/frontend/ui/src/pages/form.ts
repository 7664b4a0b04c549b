// Labelled form fields: every control gets a visible <label>, and help text joined by
// aria-describedby, so screen readers say what a field wants.
import { h } from "../dom";

let counter = 0;

export interface FieldOptions {
  type?: string;
  autocomplete?: string;
  required?: boolean;
  help?: string;
  value?: string;
  minlength?: number;
  maxlength?: number;
}

/** A label and an input named *name*; returns the wrapper and the input. */
export function field(name: string, label: string, options: FieldOptions = {}): { row: HTMLDivElement; input: HTMLInputElement } {
  counter += 1;
  const id = `field-${name}-${counter}`;
  const helpId = options.help ? `${id}-help` : null;
  const input = h("input", {
    id,
    name,
    type: options.type ?? "text",
    autocomplete: options.autocomplete ?? null,
    required: options.required ?? false,
    minlength: options.minlength ?? null,
    maxlength: options.maxlength ?? null,
    "aria-describedby": helpId,
  });
  if (options.value !== undefined) input.value = options.value;
  const row = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    helpId ? h("p", { id: helpId, class: "help" }, options.help ?? "") : null,
  );
  return { row, input };
}

/** A <form> that calls *submit* on Enter or its button, never reloading the page. */
export function form(className: string, submit: () => void | Promise<void>, ...children: (Node | null)[]): HTMLFormElement {
  const element = h("form", { class: className, novalidate: true }, children);
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit();
  });
  return element;
}
