// Tab completion fed by the engine (the bus's `complete`). Python counts code points where
// JavaScript counts UTF-16 units: positions are converted both ways.
import type { CompletionContext, CompletionResult, CompletionSource } from "@codemirror/autocomplete";
import type { Bus } from "./bus";
import type { CompleteReply } from "./types";

/** Code points in text[0:units]. */
export function toCodePoints(text: string, units: number): number {
  let points = 0;
  for (let i = 0; i < units; i++, points++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < units) i++;
  }
  return points;
}

/** UTF-16 units in the first *points* code points of text. */
export function toUnits(text: string, points: number): number {
  let units = 0;
  for (let seen = 0; seen < points && units < text.length; seen++) {
    const code = text.charCodeAt(units);
    units += code >= 0xd800 && code <= 0xdbff ? 2 : 1;
  }
  return units;
}

export function engineCompletion(bus: Bus): CompletionSource {
  return async (context: CompletionContext): Promise<CompletionResult | null> => {
    if (!context.explicit) return null;
    const text = context.state.doc.toString();
    let reply: CompleteReply;
    try {
      reply = (await bus.request("complete", { text, cursor: toCodePoints(text, context.pos) })) as CompleteReply;
    } catch {
      return null;
    }
    const matches = reply.matches ?? [];
    if (context.aborted || matches.length === 0) return null;
    const from = toUnits(text, reply.cursor_start ?? toCodePoints(text, context.pos));
    const to = reply.cursor_end === undefined ? context.pos : toUnits(text, reply.cursor_end);
    return {
      from,
      to: Math.max(to, context.pos),
      options: matches.map((label) => ({ label })),
      validFor: /^[\w.]*$/,
    };
  };
}
