// Sign in and sign up. Both return to ?next= (a path on this site) or the bookshelf.
import type { Page } from "../main";
import { post, type Session } from "../api";
import { h, mount } from "../dom";
import { pageHeader } from "./header";
import { busy, MessageLine } from "./feedback";
import { field, form } from "./form";

/** Where to go after signing in: ?next= if it is a path on this site, else the bookshelf. */
function nextPage(): string {
  const next = new URLSearchParams(location.search).get("next") ?? "";
  // Only a path of this site, read as location.assign will read it: browsers drop tabs and
  // newlines from a URL ("/<tab>/evil" is "//evil") and read "\" as "/", so "//host",
  // "/\host" and the like would leave the site. Control characters and backslashes are
  // refused; the rest is resolved here and followed only as a plain path of this origin.
  if (!next.startsWith("/") || /[\u0000-\u001f\u007f\\]/.test(next)) return "/";
  let url: URL;
  try {
    url = new URL(next, location.origin);
  } catch {
    return "/";
  }
  const path = url.pathname + url.search + url.hash;
  return url.origin === location.origin && !path.startsWith("//") ? path : "/";
}

function withNext(path: string): string {
  const next = new URLSearchParams(location.search).get("next");
  return next ? `${path}?next=${encodeURIComponent(next)}` : path;
}

// Headings differ from the buttons' words ("Sign in", "Sign up") so that each of those words
// names one control on the page.
function authPage(root: HTMLElement, me: Session, heading: string, title: string, ...content: (Node | null)[]): void {
  const main = h("main", { class: "page page-auth" }, h("div", { class: "auth-box" }, h("h1", {}, heading), content));
  mount(root, pageHeader(me, title === "Sign in" ? "login" : "other"), main);
  document.title = `${title} · Codenode`;
}

/** Who adds accounts when sign-up is not open. */
function whoAddsUsers(signup: Session["signup"]): string {
  return signup === "admin"
    ? "Accounts on this site are made by its admins: ask one to add you."
    : "Accounts on this site are made by its administrator on the server: ask them to add you.";
}

export const renderLogin: Page = (root, me) => {
  const error = new MessageLine("error");
  const username = field("username", "Username", { autocomplete: "username", required: true });
  const password = field("password", "Password", { type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const signIn = async () => {
    error.clear();
    if (!username.input.value || !password.input.value) {
      error.show("Enter your username and password.");
      (username.input.value ? password.input : username.input).focus();
      return;
    }
    try {
      await busy(submit, () => post("/api/login", { username: username.input.value, password: password.input.value }));
      location.assign(nextPage());
    } catch (failure) {
      error.showError(failure);
      password.input.select();
      password.input.focus();
    }
  };
  authPage(
    root,
    me,
    "Welcome to Codenode",
    "Sign in",
    me.user ? h("p", { class: "help" }, `You are signed in as ${me.user.username}. `, h("a", { href: "/" }, "Go to your notebooks")) : null,
    form("auth-form", signIn, username.row, password.row, error.element, h("div", { class: "form-actions" }, submit)),
    me.signup === "open"
      ? h("p", {}, "New here? ", h("a", { href: withNext("/signup") }, "Make an account"))
      : h("p", { class: "help" }, "No account? ", whoAddsUsers(me.signup)),
  );
  username.input.focus();
};

export const renderSignup: Page = (root, me) => {
  if (me.signup !== "open") {
    authPage(
      root,
      me,
      "Create an account",
      "Sign up",
      h("p", {}, "Sign-up is not open on this site. ", whoAddsUsers(me.signup)),
      h("p", {}, h("a", { href: withNext("/login") }, "Sign in"), " if you have an account."),
    );
    return;
  }
  const error = new MessageLine("error");
  const username = field("username", "Username", {
    autocomplete: "username",
    required: true,
    maxlength: 150,
    help: "Letters, digits and _ . @ + -, starting with a letter or a digit.",
  });
  const password = field("password", "Password", {
    type: "password",
    autocomplete: "new-password",
    required: true,
    help: "At least 8 characters.",
  });
  const repeat = field("password2", "Password again", { type: "password", autocomplete: "new-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign up");
  const signUp = async () => {
    error.clear();
    if (!username.input.value) {
      error.show("Choose a username.");
      username.input.focus();
      return;
    }
    if (password.input.value.length < 8) {
      error.show("The password needs at least 8 characters.");
      password.input.focus();
      return;
    }
    if (password.input.value !== repeat.input.value) {
      error.show("The two passwords differ: type the same one twice.");
      repeat.input.select();
      repeat.input.focus();
      return;
    }
    try {
      await busy(submit, () => post("/api/signup", { username: username.input.value, password: password.input.value }));
      location.assign(nextPage());
    } catch (failure) {
      error.showError(failure);
      username.input.focus();
    }
  };
  authPage(
    root,
    me,
    "Create an account",
    "Sign up",
    form("auth-form", signUp, username.row, password.row, repeat.row, error.element, h("div", { class: "form-actions" }, submit)),
    h("p", {}, "Have an account? ", h("a", { href: withNext("/login") }, "Sign in")),
  );
  username.input.focus();
};
