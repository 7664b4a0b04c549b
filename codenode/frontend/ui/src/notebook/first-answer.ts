// A run's first answer comes first. Between a run key and the cell's first answer the page
// leaves the screen alone; then the answer and what was held back are drawn together, in one
// frame; what takes the main thread for a while (moving to the next cell) comes after that frame.
//
// Why the screen is left alone: in Chromium a key press that leaves a frame pending holds back
// the page's other tasks, the bus's messages among them, until that frame has been drawn
// (Blink's scheduler defers them after a discrete input event). Frames come at the display's
// pace (every 16.7 ms at 60 Hz), so a key that changes anything on screen delays reading the
// answer by up to a frame interval plus the frame's own work, and the answer then waits for the
// frame after. So the save indicator, the run state ("In [*]"), the engine state and the old
// output going are drawn a few milliseconds later, with the answer (after WAIT_MS at most).

/** How long the page holds its updates, and the move to the next cell, for a first answer. */
export const WAIT_MS = 50;

/** A step put off until a cell's first answer: *go* once it came, *now* to take it at once. */
interface Pending {
  go(): void;
  now(): void;
}

export class FirstAnswer {
  /** Screen updates held since a run key, in order; null while nothing is held. */
  private held: (() => void)[] | null = null;
  private releaseTimer = 0;
  /** Cells whose next step waits for their first answer. */
  private waiting = new Map<string, Pending>();

  get holding(): boolean {
    return this.held !== null;
  }

  /** A run was asked for: hold screen updates until its answer (release) or WAIT_MS. */
  hold(): void {
    if (this.held) return;
    this.held = [];
    this.releaseTimer = window.setTimeout(() => this.release(), WAIT_MS);
  }

  /** Run *update* now, or once the hold ends. */
  draw(update: () => void): void {
    if (this.held) this.held.push(update);
    else update();
  }

  /** End the hold: the held updates run, in the order they came. */
  release(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    window.clearTimeout(this.releaseTimer);
    for (const update of held) update();
  }

  /** Run *then* once the cell's first answer is painted, or after WAIT_MS. */
  after(cellId: string, then: () => void): void {
    let done = false;
    let timer = 0;
    const pending: Pending = {
      now: () => {
        if (done) return;
        done = true;
        window.clearTimeout(timer);
        if (this.waiting.get(cellId) === pending) this.waiting.delete(cellId);
        then();
      },
      go: () => {
        window.clearTimeout(timer);
        requestAnimationFrame(() => (timer = window.setTimeout(pending.now, 0))); // after the frame that paints it
      },
    };
    timer = window.setTimeout(pending.go, WAIT_MS);
    this.waiting.get(cellId)?.go();
    this.waiting.set(cellId, pending);
  }

  /** The cell's first answer is being drawn: its waiting step goes after the frame. */
  answered(cellId: string): void {
    this.waiting.get(cellId)?.go();
  }

  /** Take the cell's waiting step at once (an input() prompt: the person's place first). */
  now(cellId: string): void {
    this.waiting.get(cellId)?.now();
  }
}
