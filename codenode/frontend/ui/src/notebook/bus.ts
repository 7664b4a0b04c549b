// The notebook bus from the tab's side: one WebSocket, reconnected with backoff. Every
// (re)connect begins with the whole notebook, so the page never has to guess what it missed.
import type { ServerMessage } from "./types";

export type BusStatus =
  | { state: "connecting" }
  | { state: "open" }
  | { state: "lost"; retryIn: number }
  | { state: "refused" } // never opened: the page asks why, then calls connect() again or not
  | { state: "closed"; code: number; reason: string }; // no reconnecting: access withdrawn, or another protocol

interface Waiting {
  resolve: (content: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** The notebook bus protocol this page speaks (codenode/protocol/browser.py VERSION): a
 * frontend that speaks another closes the bus with code 4400, and the page says to reload. */
export const PROTOCOL = 1;
const PROTOCOL_MISMATCH = 4400;
const ACCESS_WITHDRAWN = 4403;

const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 10_000;
const KEEPALIVE_MS = 25_000;

export class Bus {
  private socket: WebSocket | null = null;
  private nextId = 1;
  private waiting = new Map<number, Waiting>();
  private retryMs = FIRST_RETRY_MS;
  private everOpened = false;
  private keepalive = 0;

  constructor(
    private notebookId: string,
    private onMessage: (message: ServerMessage) => void,
    private onStatus: (status: BusStatus, everOpened: boolean) => void,
  ) {}

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  connect(): void {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    // batches=1: what is ready to leave together comes in one frame, a JSON array of messages
    // (codenode/protocol/batches.py): fewer frames on every hop of an evaluation.
    const url = `${scheme}//${location.host}/api/notebooks/${encodeURIComponent(this.notebookId)}/bus?protocol=${PROTOCOL}&batches=1`;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.onStatus({ state: "connecting" }, this.everOpened);
    socket.onopen = () => {
      this.everOpened = true;
      this.retryMs = FIRST_RETRY_MS;
      this.onStatus({ state: "open" }, true);
      this.keepalive = window.setInterval(() => this.send("ping"), KEEPALIVE_MS);
    };
    socket.onmessage = (event) => {
      const batch = JSON.parse(String(event.data)) as ServerMessage[] | ServerMessage;
      for (const message of Array.isArray(batch) ? batch : [batch]) this.take(message);
    };
    socket.onclose = (event) => {
      window.clearInterval(this.keepalive);
      if (this.socket !== socket) return;
      this.socket = null;
      for (const waiting of this.waiting.values()) waiting.reject(new Error("the connection was lost"));
      this.waiting.clear();
      if (event.code === ACCESS_WITHDRAWN || event.code === PROTOCOL_MISMATCH) {
        const reason = event.reason || (event.code === ACCESS_WITHDRAWN ? "access withdrawn" : "reload the page");
        this.onStatus({ state: "closed", code: event.code, reason }, this.everOpened);
        return;
      }
      if (!this.everOpened) {
        this.onStatus({ state: "refused" }, false);
        return;
      }
      const retryIn = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
      this.onStatus({ state: "lost", retryIn }, this.everOpened);
      window.setTimeout(() => this.connect(), retryIn);
    };
  }

  private take(message: ServerMessage): void {
    if (message.type === "reply" && typeof message.id === "number") {
      this.waiting.get(message.id)?.resolve(message.content);
      this.waiting.delete(message.id);
    } else if (message.type === "error" && typeof message.id === "number" && this.waiting.has(message.id)) {
      this.waiting.get(message.id)!.reject(new Error(message.message));
      this.waiting.delete(message.id);
      return;
    }
    this.onMessage(message);
  }

  /** Send an op; returns its id, or null when not connected (the caller keeps what it must). */
  send(op: string, fields: Record<string, unknown> = {}): number | null {
    if (!this.isOpen) return null;
    const id = this.nextId++;
    this.socket!.send(JSON.stringify({ op, id, ...fields }));
    return id;
  }

  /** An op answered by a `reply` (complete, introspect). */
  request(op: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.send(op, fields);
    if (id === null) return Promise.reject(new Error("not connected"));
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  close(): void {
    const socket = this.socket;
    this.socket = null;
    window.clearInterval(this.keepalive);
    socket?.close();
  }
}
