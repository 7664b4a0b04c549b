// The shapes the notebook bus carries (docs/bus.md), as the editor uses them.

export type CellKind = "code" | "markdown" | "title" | "subtitle" | "section" | "subsection";

export const HEADING_LEVELS: Partial<Record<CellKind, number>> = {
  title: 1,
  subtitle: 2,
  section: 3,
  subsection: 4,
};

export type Role = "owner" | "collaborator" | "viewer" | "public";

export interface StreamOutput {
  type: "stream";
  name: "stdout" | "stderr";
  text: string;
}
export interface DisplayOutput {
  type: "display";
  data: Record<string, string>;
}
export interface ErrorOutput {
  type: "error";
  ename: string;
  evalue: string;
  traceback: string;
}
export type Output = StreamOutput | DisplayOutput | ErrorOutput;

export interface CellData {
  id: string;
  kind: CellKind;
  source: string;
  outputs: Output[];
  execution_count: number | null;
}

export interface NotebookInfo {
  id: string;
  title: string;
  engine_type: string;
  role?: Role;
  public_link?: boolean;
}

export type EngineState = "none" | "starting" | "idle" | "busy" | "dead";

export interface EngineEvent {
  type: "engine";
  state: EngineState;
  reason?: string;
  backend?: string;
}

export interface ResultError {
  ename: string;
  evalue: string;
  traceback: string;
}

/** Everything the bus may send to a tab; events a tab caused carry `origin` and `id`. */
export type ServerMessage = (
  | { type: "notebook"; notebook: NotebookInfo; cells: CellData[]; engine: EngineEvent; running: string[]; you: number }
  | EngineEvent
  | { type: "notice"; message: string }
  | { type: "queued"; cell_id: string }
  | { type: "output"; cell_id: string | null; output: Output }
  | { type: "input_request"; cell_id: string; prompt: string; password: boolean }
  | { type: "result"; cell_id: string; execution_count: number | null; error?: ResultError }
  | { type: "reply"; id: number; op: string; content: Record<string, unknown> }
  | { type: "cell_inserted"; cell: CellData; position: number }
  | { type: "cell_updated"; cell_id: string; kind: CellKind; source: string }
  | { type: "cell_moved"; cell_id: string; position: number }
  | { type: "cell_deleted"; cell_id: string }
  | { type: "notebook_updated"; notebook: NotebookInfo }
  | { type: "notebook_replaced" }
  | { type: "error"; id?: number | null; message: string }
  | { type: "role"; role: Role }
  | { type: "pong"; id?: number }
) & { origin?: number; id?: number | null };

export interface CompleteReply {
  matches?: string[];
  cursor_start?: number;
  cursor_end?: number;
}

export interface IntrospectReply {
  found?: boolean;
  name?: string;
  type?: string | null;
  signature?: string | null;
  doc?: string | null;
  file?: string | null;
  source?: string | null;
}
