// The cursor blinks by a timer rather than by CodeMirror's CSS animation. While a CSS
// animation runs, Chromium answers every key press with a frame (the style update made for the
// key services the animation, which asks for one), and a key that leaves a frame pending holds
// back the page's other tasks, the bus's messages among them, until that frame has been drawn:
// with a blinking cursor, every Shift+Enter waited up to a frame interval before it could read
// its answer. A timer asks for a frame twice a second only. Same look: shown, then hidden,
// 600 ms each (CodeMirror's 1.2 s cycle), shown again at once whenever the cursor moves.
import { EditorView, ViewPlugin, type ViewUpdate } from "@codemirror/view";

const HALF_CYCLE_MS = 600;

/** No CSS animation on the cursor layer at all: CodeMirror restarts its blink by changing the
 *  layer's inline animation-name, and even a zero-length animation, once started, asks for a
 *  frame at the next style update (often the one a key press makes). */
const noAnimation = EditorView.theme({ ".cm-cursorLayer": { animationName: "none !important" } });

const timer = ViewPlugin.fromClass(
  class {
    private timer = 0;
    private hidden = false;

    constructor(private view: EditorView) {
      this.restart();
    }

    update(update: ViewUpdate): void {
      if (update.selectionSet || update.docChanged || update.focusChanged) this.restart();
    }

    destroy(): void {
      window.clearInterval(this.timer);
    }

    private restart(): void {
      window.clearInterval(this.timer);
      this.show(true);
      if (this.view.hasFocus) this.timer = window.setInterval(() => this.show(this.hidden), HALF_CYCLE_MS);
    }

    private show(visible: boolean): void {
      if (this.hidden !== visible) return;
      this.hidden = !visible;
      const layer = this.view.scrollDOM.querySelector<HTMLElement>(":scope > .cm-cursorLayer");
      if (layer) layer.style.visibility = visible ? "" : "hidden";
    }
  },
);

/** drawSelection's cursor, blinking by a timer; goes with drawSelection({cursorBlinkRate: 0}). */
export const timerBlink = [noAnimation, timer];
