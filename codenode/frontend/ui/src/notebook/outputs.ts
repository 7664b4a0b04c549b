// A cell's outputs on the page. Streams grow in place (a text node appended to), long ones
// fold to their first and last lines with "Show all"; rich output never touches the page's
// HTML: images as data: URIs, HTML in a sandboxed frame, markdown through DOMPurify.
import { h } from "../dom";
import type { DisplayOutput, ErrorOutput, Output, ResultError, StreamOutput } from "./types";
import { renderLatex, renderMarkdown } from "./markdown";

const FOLD_LINES = 200; // past this many lines a stream folds
const KEEP_LINES = 100; // shown at each end of a folded stream

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

function countLines(text: string): number {
  let count = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

function lastLines(text: string, lines: number): string {
  let at = text.length;
  if (text.endsWith("\n")) at--;
  for (let found = 0; found < lines && at > 0; found++) at = text.lastIndexOf("\n", at - 1);
  return text.slice(at + 1);
}

function firstLines(text: string, lines: number): string {
  let at = -1;
  for (let found = 0; found < lines; found++) {
    at = text.indexOf("\n", at + 1);
    if (at === -1) return text;
  }
  return text.slice(0, at + 1);
}

/** One stream output (stdout or stderr), growing as chunks arrive. */
class StreamView {
  readonly element: HTMLPreElement;
  private text = "";
  private lines = 0;
  private expanded = false;
  private head = document.createTextNode("");
  private tail: Text | null = null;
  private bar: HTMLElement | null = null;

  constructor(readonly output: StreamOutput) {
    this.element = h("pre", { class: `output-stream ${output.name}` }, this.head);
    this.append(output.text);
  }

  append(chunk: string): void {
    chunk = chunk.replace(ANSI, "");
    this.text += chunk;
    this.lines += countLines(chunk);
    if (this.expanded || this.lines <= FOLD_LINES) {
      this.head.appendData(chunk);
      return;
    }
    if (!this.tail) this.fold();
    this.tail!.data = lastLines(this.text, KEEP_LINES);
    this.bar!.firstChild!.textContent = `… ${this.lines - 2 * KEEP_LINES} more lines `;
  }

  private fold(): void {
    this.head.data = firstLines(this.text, KEEP_LINES);
    this.tail = document.createTextNode("");
    const showAll = h("button", { type: "button", class: "show-all", onclick: () => this.expand() }, "Show all");
    this.bar = h("div", { class: "output-fold" }, h("span", {}, ""), showAll);
    this.element.append(this.bar, this.tail);
  }

  private expand(): void {
    this.expanded = true;
    this.element.tabIndex = -1;
    this.element.focus({ preventScroll: true }); // the button goes: keep focus nearby
    this.bar?.remove();
    this.tail?.remove();
    this.tail = this.bar = null;
    this.head.data = this.text;
  }

  /** Drop *suffix* from the end (a traceback that becomes an error output). */
  trim(suffix: string): void {
    this.text = this.text.slice(0, this.text.length - suffix.length);
    this.output.text = this.text;
    this.lines = countLines(this.text);
    this.bar?.remove();
    this.tail?.remove();
    this.tail = this.bar = null;
    this.head.data = this.expanded || this.lines <= FOLD_LINES ? this.text : "";
    if (!this.expanded && this.lines > FOLD_LINES) {
      this.fold();
      this.tail!.data = lastLines(this.text, KEEP_LINES);
      this.bar!.firstChild!.textContent = `… ${this.lines - 2 * KEEP_LINES} more lines `;
    }
  }
}

function base64(value: string): string {
  return value.replace(/\s+/g, "");
}

function image(src: string, alt: string): HTMLElement {
  return h("img", { src, alt: alt || "image output", loading: "lazy" });
}

function displayElement(output: DisplayOutput): HTMLElement {
  const data = output.data;
  const alt = (data["text/plain"] ?? "").slice(0, 200);
  const box = h("div", { class: "output-display" });
  if (data["image/png"]) box.append(image(`data:image/png;base64,${base64(data["image/png"])}`, alt));
  else if (data["image/jpeg"]) box.append(image(`data:image/jpeg;base64,${base64(data["image/jpeg"])}`, alt));
  else if (data["image/svg+xml"]) {
    const svg = data["image/svg+xml"];
    // Never inline: as an <img>, an SVG's scripts do not run.
    const src = svg.trimStart().startsWith("<")
      ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`
      : `data:image/svg+xml;base64,${base64(svg)}`;
    box.append(image(src, alt));
  } else if (data["text/html"] !== undefined) {
    box.classList.add("output-html");
    const frame = h("iframe", { sandbox: "", title: "HTML output", referrerpolicy: "no-referrer" });
    frame.srcdoc = data["text/html"];
    box.append(frame);
  } else if (data["text/markdown"] !== undefined) {
    box.classList.add("output-markdown");
    renderMarkdown(box, data["text/markdown"]);
  } else if (data["text/latex"] !== undefined) {
    box.classList.add("output-latex");
    renderLatex(box, data["text/latex"]);
  } else if (data["application/json"] !== undefined) {
    box.append(h("pre", { class: "output-json" }, JSON.stringify(data["application/json"], null, 2)));
  } else {
    box.append(h("pre", { class: "output-text" }, (data["text/plain"] ?? "").replace(ANSI, "")));
  }
  return box;
}

function errorElement(output: ErrorOutput): HTMLElement {
  const text = output.traceback ? output.traceback.replace(ANSI, "") : `${output.ename}: ${output.evalue}`;
  return h("pre", { class: "output-error", role: "alert" }, text);
}

/** The outputs of one cell. */
export class OutputArea {
  readonly element: HTMLElement;
  private items: Output[] = [];
  private lastStream: StreamView | null = null;
  /** Puts the focus back where it was before an input() prompt took it. */
  private giveBack: (() => void) | null = null;

  constructor() {
    this.element = h("div", { class: "outputs output" }); // ".output": the selector contract
    this.element.hidden = true;
  }

  get outputs(): Output[] {
    return this.items;
  }

  clear(): void {
    this.items = [];
    this.lastStream = null;
    this.element.replaceChildren();
    this.element.hidden = true;
  }

  /** "Out [n]" beside the outputs (empty: none). Drawn by CSS from the attribute, so that it
   * is never part of the outputs' text (copying an output copies only the output). */
  setPrompt(text: string): void {
    if (text) this.element.dataset.out = text;
    else delete this.element.dataset.out;
  }

  setAll(outputs: Output[]): void {
    this.clear();
    for (const output of outputs) this.add(output);
  }

  add(output: Output): void {
    this.element.hidden = false;
    if (output.type === "stream") {
      if (this.lastStream && this.lastStream.output.name === output.name && this.items.at(-1) === this.lastStream.output) {
        this.lastStream.output.text += output.text;
        this.lastStream.append(output.text);
        return;
      }
      const copy: StreamOutput = { ...output };
      this.items.push(copy);
      this.lastStream = new StreamView(copy);
      this.insert(this.lastStream.element);
      return;
    }
    this.items.push(output);
    this.lastStream = null;
    this.insert(output.type === "error" ? errorElement(output) : displayElement(output));
  }

  /** The cell ended with an exception: its traceback, streamed to stderr, becomes an error
   *  output (as the frontend stores it). */
  finishWithError(error: ResultError): void {
    const last = this.items.at(-1);
    if (error.traceback && last?.type === "stream" && last.name === "stderr" && this.lastStream && last.text.endsWith(error.traceback)) {
      this.lastStream.trim(error.traceback);
      if (!last.text) {
        this.items.pop();
        this.lastStream.element.remove();
      }
    }
    this.add({ type: "error", ...error });
  }

  private insert(element: HTMLElement): void {
    const prompt = this.element.querySelector(":scope > .input-request");
    if (prompt) this.element.insertBefore(element, prompt);
    else this.element.append(element);
  }

  /** input() in the cell: an inline prompt; *answer* gets what was typed. */
  askInput(prompt: string, password: boolean, answer: (value: string) => void): void {
    this.removeInput();
    const input = h("input", { type: password ? "password" : "text", "aria-label": prompt || "Input", autocomplete: "off" });
    const form = h(
      "form",
      { class: "input-request" },
      h("label", {}, h("span", { class: "input-prompt" }, prompt), input),
    );
    const before = document.activeElement; // focus goes back there once answered
    this.giveBack = () => {
      if (before instanceof HTMLElement && before.isConnected) before.focus();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = input.value;
      this.removeInput();
      answer(value); // the engine echoes the prompt and the answer as output
    });
    input.addEventListener("keydown", (event) => event.stopPropagation());
    this.element.hidden = false;
    this.element.append(form);
    input.focus();
  }

  /** The prompt goes (answered, or the cell ended); the focus, if it held it, goes back. */
  removeInput(): void {
    const form = this.element.querySelector(":scope > .input-request");
    if (!form) return;
    const focused = form.contains(document.activeElement);
    form.remove();
    const giveBack = this.giveBack;
    this.giveBack = null;
    if (focused) giveBack?.();
  }
}
