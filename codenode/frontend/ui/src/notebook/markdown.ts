// Markdown to safe DOM: marked for the text, KaTeX for $...$ and $$...$$, and DOMPurify over
// both, so nothing a notebook holds can run script in the page or restyle it.
import { Marked } from "marked";
import DOMPurify from "dompurify";
import katex from "katex";

const marked = new Marked({ gfm: true, breaks: false });

// Code (fenced blocks and inline spans) is left alone; math outside it becomes a placeholder
// that marked passes through untouched, replaced by KaTeX's HTML afterwards.
const PIECES = /(```[\s\S]*?(?:```|$)|~~~[\s\S]*?(?:~~~|$)|`[^`\n]*`)|\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\w$])|\\\(([\s\S]+?)\\\)/g;

// maxSize (em): a \rule or \kern cannot grow into a cover over the page.
function renderMath(tex: string, display: boolean): string {
  return katex.renderToString(tex, { displayMode: display, throwOnError: false, output: "htmlAndMathml", maxSize: 50 });
}

// A notebook's own markup gets no styles: an inline style or a <style> could lay a full-page
// overlay over the notebook (a fake sign-in form, say). KaTeX's HTML keeps the styles it lays
// out with; it is sanitized on its own and put in after.
const NO_STYLES = { FORBID_TAGS: ["style"], FORBID_ATTR: ["style"] };

/** The HTML (sanitized) for a markdown text with math. */
export function markdownHtml(source: string): string {
  const math: string[] = [];
  const text = source.replace(PIECES, (whole, code, display, displayBracket, inline, inlineParen) => {
    if (code !== undefined) return whole;
    const tex = display ?? displayBracket ?? inline ?? inlineParen;
    const isDisplay = display !== undefined || displayBracket !== undefined;
    math.push(DOMPurify.sanitize(renderMath(tex, isDisplay)));
    return `CODENODEMATH${math.length - 1}X`;
  });
  const html = DOMPurify.sanitize(marked.parse(text, { async: false }) as string, NO_STYLES);
  return html.replace(/CODENODEMATH(\d+)X/g, (_, index) => math[Number(index)] ?? "");
}

/** Fill *element* with the rendered markdown. */
export function renderMarkdown(element: HTMLElement, source: string): void {
  element.innerHTML = markdownHtml(source); // sanitized above
  for (const link of element.querySelectorAll("a[href]")) {
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
  }
}

/** LaTeX output of a cell ($...$ or $$...$$ around it, as _repr_latex_ gives it). */
export function renderLatex(element: HTMLElement, latex: string): void {
  const trimmed = latex.trim();
  const display = !/^\$[^$]/.test(trimmed) || trimmed.startsWith("$$");
  const tex = trimmed.replace(/^\$\$?|\$\$?$/g, "");
  element.innerHTML = DOMPurify.sanitize(renderMath(tex, display));
}

/** Run marked and KaTeX once while the bus connects: their first call costs the most. */
export function warmUp(): void {
  markdownHtml("*a* `b` $x^2$\n\n- c");
}
