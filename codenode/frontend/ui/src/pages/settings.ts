import type { Page } from "../main";
export const renderSettings: Page = (root) => { root.textContent = "settings (being built)"; };
