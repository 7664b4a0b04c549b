// The header every page shares: the app's name (home), who is signed in, and where they can go.
import { post, type Session } from "../api";
import { h, mount } from "../dom";

type Place = "bookshelf" | "settings" | "admin" | "password" | "notebook" | "login" | "other";

async function signOut(): Promise<void> {
  try {
    await post("/api/logout");
  } finally {
    location.assign("/login");
  }
}

/** The page header; *here* marks the current page's link with aria-current. */
export function pageHeader(me: Session, here: Place = "other"): HTMLElement {
  const link = (href: string, label: string, place: Place) =>
    h("a", { href, "aria-current": here === place ? "page" : null }, label);
  const user = me.user;
  const links = user
    ? [
        link("/settings", "Settings", "settings"),
        user.is_admin ? link("/admin", "Admin", "admin") : null,
        link("/password", "Change password", "password"),
        h("button", { type: "button", class: "link-button", onclick: () => void signOut() }, "Sign out"),
      ]
    : here === "login"
      ? [] // already on the sign-in page
      : [h("a", { href: "/login?next=" + encodeURIComponent(location.pathname) }, "Sign in")];
  return h(
    "header",
    { class: "page-header" },
    h("a", { href: "/", class: "app-name", "aria-current": here === "bookshelf" ? "page" : null }, "Codenode"),
    h(
      "nav",
      { class: "account", "aria-label": "Account" },
      user ? h("span", { class: "username", title: "Signed in as " + user.username }, user.username) : null,
      ...links,
    ),
  );
}

/** Draws a page: the header, then a <main> holding *content* under an h1 *title*. */
export function pageFrame(root: HTMLElement, me: Session, here: Place, title: string, ...content: Node[]): HTMLElement {
  const main = h("main", { class: `page page-${here}` }, h("h1", {}, title), ...content);
  mount(root, pageHeader(me, here), main);
  document.title = `${title} · Codenode`;
  return main;
}
