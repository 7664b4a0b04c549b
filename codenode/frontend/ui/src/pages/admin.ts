import type { Page } from "../main";
export const renderAdmin: Page = (root) => { root.textContent = "admin (being built)"; };
