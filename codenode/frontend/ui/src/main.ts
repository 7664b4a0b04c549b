// The UI's entry: find out who is signed in, then draw the page the address names.
import { session, type Session } from "./api";
import { renderLogin, renderSignup } from "./pages/login";
import { renderBookshelf } from "./pages/bookshelf";
import { renderAdmin } from "./pages/admin";
import { renderSettings } from "./pages/settings";
import { renderPassword } from "./pages/password";
import { renderNotebook } from "./notebook/page";

export type Page = (root: HTMLElement, me: Session, params: Record<string, string>) => void | Promise<void>;

const ROUTES: [RegExp, Page, boolean][] = [
  // [address, page, needs a signed-in user]
  [/^\/login$/, renderLogin, false],
  [/^\/signup$/, renderSignup, false],
  [/^\/notebooks\/(?<id>[^/]+)$/, renderNotebook, false], // public links work signed out
  [/^\/admin$/, renderAdmin, true],
  [/^\/settings$/, renderSettings, true],
  [/^\/password$/, renderPassword, true],
  [/^\/$/, renderBookshelf, true],
];

async function start(): Promise<void> {
  const root = document.getElementById("app")!;
  const me = await session();
  for (const [pattern, page, needsUser] of ROUTES) {
    const match = pattern.exec(location.pathname);
    if (!match) continue;
    if (needsUser && !me.user) {
      location.assign("/login?next=" + encodeURIComponent(location.pathname));
      return;
    }
    await page(root, me, match.groups ?? {});
    return;
  }
  root.textContent = "No such page.";
}

start().catch((error) => {
  const root = document.getElementById("app");
  if (root) root.textContent = `Codenode could not start: ${error.message ?? error}`;
});
