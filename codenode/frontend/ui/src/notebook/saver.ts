// Saving as one types: each cell's edits go out as `update_cell` after a short pause (at once
// before it runs, on blur, on leaving the page), and the indicator says whether all is stored.
import type { Bus } from "./bus";

const PAUSE_MS = 300;

export class Saver {
  /** How the indicator gets drawn: at once by default; the notebook holds it back while a
   *  run waits for its first answer (first-answer.ts). */
  paint: (draw: () => void) => void = (draw) => draw();
  private timers = new Map<string, number>();
  private sent = new Map<number, string>(); // request id → cell id, until the server confirms
  private offline = new Set<string>(); // edited while disconnected: sent on reconnect
  private drawing = false; // a draw is waiting to be painted

  constructor(
    private bus: Bus,
    private sourceOf: (cellId: string) => string | null,
    readonly indicator: HTMLElement,
  ) {
    this.draw();
  }

  /** The cell was edited here. */
  changed(cellId: string): void {
    window.clearTimeout(this.timers.get(cellId));
    this.timers.set(cellId, window.setTimeout(() => this.flush(cellId), PAUSE_MS));
    this.draw();
  }

  flush(cellId: string): void {
    if (!this.timers.has(cellId) && !this.offline.has(cellId)) return;
    window.clearTimeout(this.timers.get(cellId));
    this.timers.delete(cellId);
    const source = this.sourceOf(cellId);
    if (source === null) {
      this.offline.delete(cellId);
    } else {
      const id = this.bus.send("update_cell", { cell_id: cellId, source });
      if (id === null) this.offline.add(cellId);
      else {
        this.offline.delete(cellId);
        this.sent.set(id, cellId);
      }
    }
    this.draw();
  }

  flushAll(): void {
    for (const cellId of [...this.timers.keys(), ...this.offline]) this.flush(cellId);
  }

  /** The cell's source goes out another way (evaluate stores it): *id* confirms it. */
  sentWith(cellId: string, id: number | null): void {
    window.clearTimeout(this.timers.get(cellId));
    this.timers.delete(cellId);
    if (id === null) this.offline.add(cellId);
    else this.sent.set(id, cellId);
    this.draw();
  }

  /** The server answered request *id* (stored, or refused: either way nothing is pending). */
  answered(id: number | null | undefined): void {
    if (typeof id === "number" && this.sent.delete(id)) this.draw();
  }

  /** A cell ran: whatever evaluate carried is stored. */
  ran(cellId: string): void {
    for (const [id, cell] of this.sent) if (cell === cellId) this.sent.delete(id);
    this.draw();
  }

  /** The connection was lost: what was sent but not confirmed is sent again later. */
  disconnected(): void {
    for (const cellId of this.sent.values()) this.offline.add(cellId);
    this.sent.clear();
    this.draw();
  }

  /** Cells whose text here is newer than the server's. */
  unsaved(): Set<string> {
    return new Set([...this.timers.keys(), ...this.sent.values(), ...this.offline]);
  }

  forget(cellId: string): void {
    window.clearTimeout(this.timers.get(cellId));
    this.timers.delete(cellId);
    this.offline.delete(cellId);
    this.draw();
  }

  get pending(): boolean {
    return this.timers.size + this.sent.size + this.offline.size > 0;
  }

  private draw(): void {
    if (this.drawing) return;
    this.drawing = true;
    this.paint(() => {
      this.drawing = false;
      this.drawIndicator();
    });
  }

  private drawIndicator(): void {
    const text = this.offline.size ? "Not saved (offline)" : this.timers.size || this.sent.size ? "Saving…" : "Saved";
    if (this.indicator.textContent !== text) this.indicator.textContent = text;
    const state = this.offline.size ? "offline" : this.timers.size || this.sent.size ? "saving" : "saved";
    if (this.indicator.dataset.state !== state) this.indicator.dataset.state = state;
  }
}
