// The admin page: users and backends. Admins only; others are told so (the API refuses anyway).
import type { Page } from "../main";
import { h } from "../dom";
import { pageFrame } from "./header";
import { usersSection } from "./admin-users";
import { backendsSection } from "./admin-backends";

export const renderAdmin: Page = (root, me) => {
  if (!me.user?.is_admin) {
    pageFrame(
      root,
      me,
      "admin",
      "Admin",
      h("p", { class: "error-message", role: "alert" }, "This page is for admins only."),
      h("p", {}, h("a", { href: "/" }, "Back to your notebooks")),
    );
    return;
  }
  pageFrame(root, me, "admin", "Admin", usersSection(me.user), backendsSection());
};
