import type { Page } from "../main";
export const renderPassword: Page = (root) => { root.textContent = "password (being built)"; };
