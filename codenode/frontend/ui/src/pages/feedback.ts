// Telling people what happened: errors in an alert region (role=alert, class error-message, as the
// browser tests expect), successes in a polite status line. Messages are always text.
import { ApiError } from "../api";

/** What to show for a failure: the server's own message when it sent one. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message || `The server answered ${error.status}.`;
  if (error instanceof TypeError) return "Codenode could not be reached. Check the connection and try again.";
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A line that shows one message at a time and hides when there is none. */
export class MessageLine {
  readonly element: HTMLParagraphElement;

  constructor(kind: "error" | "status") {
    this.element = document.createElement("p");
    if (kind === "error") {
      this.element.className = "error-message";
      this.element.setAttribute("role", "alert");
    } else {
      this.element.className = "status-message";
      this.element.setAttribute("role", "status");
    }
    this.element.hidden = true;
  }

  show(text: string): void {
    this.element.textContent = text;
    this.element.hidden = false;
  }

  showError(error: unknown): void {
    this.show(describe(error));
  }

  clear(): void {
    this.element.textContent = "";
    this.element.hidden = true;
  }
}

/** Runs *action* with *button* disabled, so a double click does not send twice. */
export async function busy<T>(button: HTMLButtonElement, action: () => Promise<T>): Promise<T> {
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
  }
}

/** An error line and a status line that take turns: a success clears the last error, and a
 * failure the last success. */
export class Feedback {
  readonly error = new MessageLine("error");
  readonly status = new MessageLine("status");

  report(text: string): void {
    this.error.clear();
    this.status.show(text);
  }

  fail(failure: unknown): void {
    this.status.clear();
    this.error.showError(failure);
  }
}
