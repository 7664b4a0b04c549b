import type { Page } from "../main";
export const renderLogin: Page = (root) => { root.textContent = "Sign in (being built)"; };
export const renderSignup: Page = (root) => { root.textContent = "Sign up (being built)"; };
