import type { Page } from "../main";
export const renderNotebook: Page = (root) => { root.textContent = "Notebook (being built)"; };
