import type { Page } from "../main";
export const renderBookshelf: Page = (root) => { root.textContent = "bookshelf (being built)"; };
