// Admin: the users. Add one, disable or enable, make or unmake an admin.
import { get, patch, post, type User } from "../api";
import { h } from "../dom";
import { busy, Feedback } from "./feedback";
import { field, form } from "./form";
import { timeElement } from "./format";

interface Account extends User {
  disabled: boolean;
  created: string;
}

export function usersSection(me: User): HTMLElement {
  const feedback = new Feedback();
  const { error, status } = feedback;
  const tableSlot = h("div", { class: "table-scroll" }, h("p", { class: "help" }, "Loading…"));

  const report = (text: string) => feedback.report(text);
  const fail = (failure: unknown) => feedback.fail(failure);

  type Change = Partial<Pick<Account, "is_admin" | "disabled">>;

  /** A button that changes one thing about an account; off for the admin's own account. */
  function toggle(account: Account, label: string, change: Change, done: string, refusal: string, danger = false) {
    const self = account.id === me.id;
    const action = "is_admin" in change ? "toggle-admin" : "toggle-disabled";
    const button = h(
      "button",
      { type: "button", class: danger ? `${action} danger` : action, disabled: self, title: self ? refusal : null },
      label,
    );
    button.addEventListener("click", async () => {
      try {
        await busy(button, () => patch(`/api/users/${account.id}`, change));
        report(done);
        await load();
        tableSlot.querySelector<HTMLElement>(`tr[data-user-id="${account.id}"] .${action}`)?.focus();
      } catch (failure) {
        fail(failure);
      }
    });
    return button;
  }

  function row(account: Account): HTMLTableRowElement {
    const name = account.username;
    const adminButton = account.is_admin
      ? toggle(account, "Remove admin", { is_admin: false }, `${name} is no longer an admin.`, "You cannot remove your own admin rights")
      : toggle(account, "Make admin", { is_admin: true }, `${name} is now an admin.`, "");
    const disableButton = account.disabled
      ? toggle(account, "Enable", { disabled: false }, `${name} is enabled.`, "")
      : toggle(account, "Disable", { disabled: true }, `${name} is disabled.`, "You cannot disable yourself", true);
    return h(
      "tr",
      { "data-user-id": account.id, class: account.disabled ? "disabled-account" : null },
      h("th", { scope: "row" }, name, account.id === me.id ? h("span", { class: "help" }, " (you)") : null),
      h("td", {}, account.is_admin ? "admin" : "user"),
      h("td", {}, account.disabled ? h("span", { class: "state-bad" }, "disabled") : "active"),
      h("td", { class: "col-created" }, timeElement(account.created)),
      h("td", {}, h("div", { class: "row-actions" }, adminButton, disableButton)),
    );
  }

  async function load(): Promise<void> {
    try {
      const answer = (await get("/api/users")) as { users: Account[] };
      tableSlot.replaceChildren(
        h(
          "table",
          { class: "users" },
          h("caption", { class: "visually-hidden" }, "Users"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Username"),
              h("th", { scope: "col" }, "Role"),
              h("th", { scope: "col" }, "Status"),
              h("th", { scope: "col", class: "col-created" }, "Created"),
              h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
            ),
          ),
          h("tbody", {}, answer.users.map(row)),
        ),
      );
    } catch (failure) {
      tableSlot.replaceChildren();
      fail(failure);
    }
  }

  const username = field("username", "Username", { autocomplete: "off", maxlength: 150, help: "Letters, digits and _ . @ + -." });
  const password = field("password", "Password", {
    type: "password",
    autocomplete: "new-password",
    help: "At least 8 characters; tell it to them safely.",
  });
  const adminId = "new-user-admin";
  const isAdmin = h("input", { type: "checkbox", id: adminId, name: "is_admin" });
  const add = h("button", { type: "submit", class: "primary" }, "Add user");
  const addUser = async () => {
    if (!username.input.value.trim()) {
      error.show("Enter a username.");
      username.input.focus();
      return;
    }
    if (password.input.value.length < 8) {
      error.show("The password needs at least 8 characters.");
      password.input.focus();
      return;
    }
    try {
      const made = (await busy(add, () =>
        post("/api/users", { username: username.input.value.trim(), password: password.input.value, is_admin: isAdmin.checked }),
      )) as Account;
      username.input.value = "";
      password.input.value = "";
      isAdmin.checked = false;
      report(`Added ${made.username}${made.is_admin ? " (admin)" : ""}.`);
      await load();
      username.input.focus();
    } catch (failure) {
      fail(failure);
    }
  };

  void load();
  return h(
    "section",
    { class: "admin-section", "aria-labelledby": "admin-users" },
    h("h2", { id: "admin-users" }, "Users"),
    tableSlot,
    h("h3", {}, "Add a user"),
    form(
      "inline-form add-user",
      addUser,
      username.row,
      password.row,
      h("div", { class: "field checkbox-field" }, isAdmin, h("label", { for: adminId }, "Admin")),
      h("div", { class: "form-actions" }, add),
    ),
    status.element,
    error.element,
  );
}
