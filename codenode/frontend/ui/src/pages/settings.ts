// Per-browser settings (localStorage), and the page that changes them. The notebook editor
// reads them with loadSettings() when it opens.
import type { Page } from "../main";
import { h } from "../dom";
import { pageFrame } from "./header";
import { MessageLine } from "./feedback";

export interface Settings {
  /** Show In [n] / Out [n] beside code cells. */
  numbering: boolean;
  /** Open notebooks from the bookshelf in a new tab. */
  newTab: boolean;
}

const KEY = "codenode.settings";
const DEFAULTS: Settings = { numbering: true, newTab: false };

export function loadSettings(): Settings {
  try {
    const stored: unknown = JSON.parse(localStorage.getItem(KEY) ?? "{}");
    const found = typeof stored === "object" && stored !== null ? (stored as Partial<Record<keyof Settings, unknown>>) : {};
    return {
      numbering: typeof found.numbering === "boolean" ? found.numbering : DEFAULTS.numbering,
      newTab: typeof found.newTab === "boolean" ? found.newTab : DEFAULTS.newTab,
    };
  } catch {
    return { ...DEFAULTS }; // storage disabled or garbled: the defaults serve
  }
}

export function saveSettings(settings: Settings): void {
  localStorage.setItem(KEY, JSON.stringify(settings));
}

const CHOICES: { key: keyof Settings; label: string; help: string }[] = [
  { key: "numbering", label: "Cell numbering", help: "Show In [n] and Out [n] beside code cells." },
  { key: "newTab", label: "Open notebooks in a new tab", help: "From the bookshelf and search results." },
];

export const renderSettings: Page = (root, me) => {
  const status = new MessageLine("status");
  const error = new MessageLine("error");
  const settings = loadSettings();
  const rows = CHOICES.map(({ key, label, help }) => {
    const id = `setting-${key}`;
    const box = h("input", { type: "checkbox", id, name: key, "aria-describedby": `${id}-help` });
    box.checked = settings[key];
    box.addEventListener("change", () => {
      settings[key] = box.checked;
      try {
        saveSettings(settings);
        error.clear();
        status.show(`Saved: ${label.toLowerCase()} ${box.checked ? "on" : "off"}.`);
      } catch (failure) {
        status.clear();
        error.showError(failure);
      }
    });
    return h(
      "div",
      { class: "setting" },
      box,
      h("label", { for: id }, label),
      h("p", { id: `${id}-help`, class: "help" }, help),
    );
  });
  pageFrame(
    root,
    me,
    "settings",
    "Settings",
    h("p", { class: "help" }, "These settings are kept in this browser and take effect when a notebook opens."),
    h("fieldset", { class: "settings" }, h("legend", { class: "visually-hidden" }, "Settings"), ...rows),
    status.element,
    error.element,
  );
  rows[0]?.querySelector("input")?.focus();
};
