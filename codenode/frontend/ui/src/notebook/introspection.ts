// What the engine knows of a name (Shift+Tab, or a cell that is just `name?`), in a panel
// below the cell; Esc or its close button dismisses it.
import { h } from "../dom";
import type { IntrospectReply } from "./types";

const FIELDS: [keyof IntrospectReply, string][] = [
  ["type", "Type"],
  ["signature", "Signature"],
  ["file", "File"],
  ["doc", "Docstring"],
  ["source", "Source"],
];

/** The name (dotted chain) that ends at or runs through *pos* in *line*. */
export function nameAt(line: string, pos: number): string {
  let start = pos;
  let end = pos;
  while (start > 0 && /[\w.]/.test(line[start - 1])) start--;
  while (end < line.length && /\w/.test(line[end])) end++;
  let name = line.slice(start, end).replace(/^\.+|\.+$/g, "");
  if (!name && line[pos - 1] === "(") return nameAt(line, pos - 1); // f(|: f
  if (!name) {
    // Inside a call: the function whose parenthesis is open to the left.
    const open = line.lastIndexOf("(", pos - 1);
    if (open > 0) name = nameAt(line, open);
  }
  return name;
}

/** `len?` or `os.path.join??` as a whole cell: the name and whether to show the source. */
export function questionCell(source: string): { name: string; detail: number } | null {
  const found = /^\s*([A-Za-z_][\w.]*)\s*(\?\??)\s*$/.exec(source);
  return found ? { name: found[1], detail: found[2].length - 1 } : null;
}

export function introspectionPanel(info: IntrospectReply, close: () => void): HTMLElement {
  const body: HTMLElement[] = [];
  if (!info.found) {
    body.push(h("p", {}, `Nothing is known of ${info.name ?? "that"} (run the cell that defines it first).`));
  } else {
    for (const [field, label] of FIELDS) {
      const value = info[field];
      if (typeof value !== "string" || !value) continue;
      body.push(h("div", { class: "field" }, h("div", { class: "label" }, label), h("pre", {}, value)));
    }
  }
  const panel = h(
    "aside",
    { class: "introspection", role: "note", "aria-label": `About ${info.name ?? ""}`, tabindex: "-1" },
    h(
      "header",
      {},
      h("code", {}, info.name ?? ""),
      h("button", { type: "button", class: "close", "aria-label": "Close", onclick: close }, "×"),
    ),
    ...body,
  );
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      close();
    }
  });
  return panel;
}
