// Admin: the backends. Health with its reason, engine types, running engines (state, memory,
// age) with stop and interrupt; add and remove backends.
import { del, get, post } from "../api";
import { h } from "../dom";
import { confirmDialog } from "./dialog";
import { busy, Feedback } from "./feedback";
import { field, form } from "./form";
import { formatBytes, formatDate, formatDuration } from "./format";

interface Backend {
  name: string;
  url: string;
  healthy: boolean;
  reason: string | null;
  engines: number;
  engine_types: string[];
  unsandboxed_types: string[];
  unavailable_types: { name: string; reason: string }[];
  version: string | null;
  checked: string | null;
}

interface Engine {
  id: string;
  type: string;
  state: string;
  rss_bytes: number | null;
  started: number | null;
  last_activity: number | null;
  age: number | null;
  exit?: unknown;
}

const path = (name: string) => `/api/backends/${encodeURIComponent(name)}`;

export function backendsSection(): HTMLElement {
  const feedback = new Feedback();
  const { error, status } = feedback;
  const listSlot = h("div", { class: "backend-list" }, h("p", { class: "help" }, "Loading…"));

  const report = (text: string) => feedback.report(text);
  const fail = (failure: unknown) => feedback.fail(failure);

  function enginesPanel(backend: Backend): HTMLElement {
    const slot = h("div", { class: "table-scroll" }, h("p", { class: "help" }, "Loading engines…"));
    const refresh = h("button", { type: "button", "aria-label": `Refresh the engines of ${backend.name}` }, "Refresh engines");
    async function loadEngines(): Promise<void> {
      try {
        const answer = (await get(`${path(backend.name)}/engines`)) as { engines: Engine[] };
        slot.replaceChildren(
          answer.engines.length
            ? h(
                "table",
                { class: "engines" },
                h("caption", { class: "visually-hidden" }, `Engines on ${backend.name}`),
                h(
                  "thead",
                  {},
                  h("tr", {}, ["Engine", "Type", "State", "Memory", "Age", "Last activity", ""].map((label) =>
                    h("th", { scope: "col" }, label || h("span", { class: "visually-hidden" }, "Actions")),
                  )),
                ),
                h("tbody", {}, answer.engines.map(engineRow)),
              )
            : h("p", { class: "help" }, "No engines running."),
        );
      } catch (failure) {
        slot.replaceChildren(h("p", { class: "error-message" }, `Engines unavailable: ${(failure as Error).message}`));
      }
    }
    function engineRow(engine: Engine): HTMLTableRowElement {
      const interrupt = h("button", { type: "button", "aria-label": `Interrupt engine ${engine.id}` }, "Interrupt");
      const stop = h("button", { type: "button", class: "danger", "aria-label": `Stop engine ${engine.id}` }, "Stop");
      interrupt.addEventListener("click", async () => {
        try {
          await busy(interrupt, () => post(`${path(backend.name)}/engines/${encodeURIComponent(engine.id)}/interrupt`));
          report(`Interrupted engine ${engine.id}.`);
          await loadEngines();
        } catch (failure) {
          fail(failure);
        }
      });
      stop.addEventListener("click", async () => {
        const sure = await confirmDialog(
          `Stop engine ${engine.id}?`,
          "Its notebook loses its variables; its next run starts a fresh engine.",
          "Stop engine",
        );
        if (!sure) return;
        try {
          await busy(stop, () => del(`${path(backend.name)}/engines/${encodeURIComponent(engine.id)}`));
          report(`Stopped engine ${engine.id}.`);
          await loadEngines();
          refresh.focus();
        } catch (failure) {
          fail(failure);
        }
      });
      const last = engine.last_activity ? formatDate(new Date(engine.last_activity * 1000).toISOString()) : "—";
      return h(
        "tr",
        { "data-engine-id": engine.id },
        h("th", { scope: "row", class: "mono" }, engine.id),
        h("td", {}, engine.type),
        h(
          "td",
          {},
          h("span", { class: `engine-state-label state-${engine.state}` }, engine.state),
          engine.exit !== undefined && engine.exit !== null ? ` (exit ${JSON.stringify(engine.exit)})` : "",
        ),
        h("td", {}, formatBytes(engine.rss_bytes)),
        h("td", {}, formatDuration(engine.age)),
        h("td", {}, last),
        h("td", {}, h("div", { class: "row-actions" }, interrupt, stop)),
      );
    }
    refresh.addEventListener("click", () => void busy(refresh, loadEngines));
    if (backend.healthy) void loadEngines();
    else slot.replaceChildren(h("p", { class: "help" }, "The backend is down: its engines cannot be listed."));
    return h(
      "div",
      { class: "engines-panel" },
      h("div", { class: "panel-head" }, h("h4", {}, "Running engines"), backend.healthy ? refresh : null),
      slot,
    );
  }

  function card(backend: Backend): HTMLElement {
    const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove backend ${backend.name}` }, "Remove");
    remove.addEventListener("click", async () => {
      const sure = await confirmDialog(
        `Remove backend ${backend.name}?`,
        "New engines will go elsewhere. Its running engines are left alone: their notebooks keep them until they close.",
        "Remove backend",
      );
      if (!sure) return;
      try {
        await busy(remove, () => del(path(backend.name)));
        report(`Removed backend ${backend.name}.`);
        await load();
      } catch (failure) {
        fail(failure);
      }
    });
    return h(
      "article",
      { class: "backend", "data-backend": backend.name, "aria-labelledby": `backend-${backend.name}` },
      h(
        "div",
        { class: "backend-head" },
        h("h3", { id: `backend-${backend.name}` }, backend.name),
        h("span", { class: backend.healthy ? "health state-good" : "health state-bad" }, backend.healthy ? "healthy" : "down"),
        remove,
      ),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "URL"),
        h("dd", { class: "mono" }, backend.url),
        backend.reason ? [h("dt", {}, "Reason"), h("dd", { class: "reason" }, backend.reason)] : null,
        h("dt", {}, "Engine types"),
        h("dd", {}, backend.engine_types.length ? backend.engine_types.join(", ") : "none"),
        backend.unsandboxed_types.length
          ? [
              h("dt", {}, "Unsandboxed types"),
              h(
                "dd",
                { class: "reason" },
                `${backend.unsandboxed_types.join(", ")}: their engines see the backend's machine as its own user does (sandbox=False).`,
              ),
            ]
          : null,
        backend.unavailable_types.length
          ? [
              h("dt", {}, "Unavailable types"),
              h(
                "dd",
                {},
                h("ul", { class: "plain" }, backend.unavailable_types.map((type) => h("li", {}, h("strong", {}, type.name), `: ${type.reason}`))),
              ),
            ]
          : null,
        h("dt", {}, "Engines"),
        h("dd", {}, String(backend.engines)),
        h("dt", {}, "Version"),
        h("dd", {}, backend.version ?? "—"),
        h("dt", {}, "Checked"),
        h("dd", {}, backend.checked ? formatDate(backend.checked) : "not yet"),
      ),
      enginesPanel(backend),
    );
  }

  async function load(): Promise<void> {
    try {
      const answer = (await get("/api/backends")) as { backends: Backend[] };
      listSlot.replaceChildren(
        ...(answer.backends.length
          ? answer.backends.map(card)
          : [h("p", { class: "empty-state" }, "No backends are registered: no notebook can run until one is added.")]),
      );
    } catch (failure) {
      listSlot.replaceChildren();
      fail(failure);
    }
  }

  const name = field("name", "Name", { autocomplete: "off", maxlength: 100, help: "Letters, digits and _ . -" });
  const url = field("url", "URL", { type: "url", autocomplete: "off", help: "http(s)://host:port, e.g. https://gpu1.internal:8337" });
  const token = field("token", "Token", { type: "password", autocomplete: "off", help: "The backend's token file's contents; never shown again." });
  const add = h("button", { type: "submit", class: "primary" }, "Add backend");
  const addBackend = async () => {
    const missing = [name, url, token].find((part) => !part.input.value.trim());
    if (missing) {
      error.show(`Enter the backend's ${missing.input.name}.`);
      missing.input.focus();
      return;
    }
    try {
      const made = (await busy(add, () =>
        post("/api/backends", { name: name.input.value.trim(), url: url.input.value.trim(), token: token.input.value.trim() }),
      )) as Backend;
      for (const part of [name, url, token]) part.input.value = "";
      report(`Added backend ${made.name}: ${made.healthy ? "healthy" : `down (${made.reason ?? "no reason given"})`}.`);
      await load();
    } catch (failure) {
      fail(failure);
    }
  };

  const reload = h("button", { type: "button" }, "Refresh");
  reload.addEventListener("click", () => void busy(reload, load));
  void load();
  return h(
    "section",
    { class: "admin-section", "aria-labelledby": "admin-backends" },
    h("div", { class: "section-head" }, h("h2", { id: "admin-backends" }, "Backends"), reload),
    listSlot,
    h("h3", {}, "Add a backend"),
    form("inline-form add-backend", addBackend, name.row, url.row, token.row, h("div", { class: "form-actions" }, add)),
    status.element,
    error.element,
  );
}
