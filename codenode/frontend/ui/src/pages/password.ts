// Change password. The server ends every other session of the user and renews this one.
import type { Page } from "../main";
import { post } from "../api";
import { h } from "../dom";
import { pageFrame } from "./header";
import { busy, MessageLine } from "./feedback";
import { field, form } from "./form";

export const renderPassword: Page = (root, me) => {
  const error = new MessageLine("error");
  const status = new MessageLine("status");
  const old = field("old", "Current password", { type: "password", autocomplete: "current-password", required: true });
  const fresh = field("new", "New password", {
    type: "password",
    autocomplete: "new-password",
    required: true,
    help: "At least 8 characters. Your other sessions are signed out when it changes.",
  });
  const repeat = field("new2", "New password again", { type: "password", autocomplete: "new-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Change password");
  const change = async () => {
    error.clear();
    status.clear();
    const problem = !old.input.value
      ? [old.input, "Enter your current password."] as const
      : fresh.input.value.length < 8
        ? [fresh.input, "The new password needs at least 8 characters."] as const
        : fresh.input.value !== repeat.input.value
          ? [repeat.input, "The two new passwords differ: type the same one twice."] as const
          : null;
    if (problem) {
      error.show(problem[1]);
      problem[0].focus();
      return;
    }
    try {
      await busy(submit, () => post("/api/password", { old: old.input.value, new: fresh.input.value }));
      for (const input of [old.input, fresh.input, repeat.input]) input.value = "";
      status.show("Password changed. Your other sessions have been signed out.");
    } catch (failure) {
      error.showError(failure);
      old.input.select();
      old.input.focus();
    }
  };
  pageFrame(
    root,
    me,
    "password",
    "Change password",
    form(
      "auth-form narrow",
      change,
      // A hidden username lets password managers know whose password this is.
      h("input", { type: "text", name: "username", autocomplete: "username", value: me.user?.username ?? "", hidden: true }),
      old.row,
      fresh.row,
      repeat.row,
      error.element,
      status.element,
      h("div", { class: "form-actions" }, submit),
    ),
  );
  old.input.focus();
};
