// The sharing dialog the notebook editor opens (owners only): collaborators and viewers by
// username, and the public read-only link.
import { del, get, put } from "../api";
import { h } from "../dom";
import { openDialog } from "./dialog";
import { busy, Feedback } from "./feedback";
import { field, form } from "./form";

type Role = "viewer" | "collaborator";

interface Share {
  username: string;
  role: Role;
}

const ROLES: { value: Role; label: string }[] = [
  { value: "viewer", label: "Viewer" },
  { value: "collaborator", label: "Collaborator" },
];

function roleSelect(name: string, label: string, value: Role): HTMLSelectElement {
  return h(
    "select",
    { name, "aria-label": label },
    ROLES.map((role) => h("option", { value: role.value, selected: role.value === value ? true : null }, role.label)),
  );
}

export function openShareDialog(notebookId: string): void {
  const base = `/api/notebooks/${encodeURIComponent(notebookId)}`;
  const { body } = openDialog("share", "Share this notebook");
  const feedback = new Feedback();
  const { error, status } = feedback;
  const list = h("ul", { class: "shares", "aria-label": "People with access" });
  const username = field("username", "Username", { autocomplete: "off", maxlength: 150 });
  const roleId = "share-new-role";
  const role = roleSelect("role", "Role", "viewer");
  role.id = roleId;
  role.removeAttribute("aria-label");
  const add = h("button", { type: "submit", class: "primary" }, "Add");
  const publicBox = h("input", { type: "checkbox", name: "public", id: "share-public", disabled: true });
  const publicLink = h("input", {
    type: "text",
    readonly: true,
    class: "public-link",
    "aria-label": "Public link",
    value: `${location.origin}/notebooks/${encodeURIComponent(notebookId)}`,
  });
  const copy = h("button", { type: "button" }, "Copy link");
  const linkRow = h("div", { class: "public-link-row" }, publicLink, copy);
  linkRow.hidden = true;

  const report = (text: string) => feedback.report(text);
  const fail = (failure: unknown) => feedback.fail(failure);

  function row(share: Share): HTMLLIElement {
    const select = roleSelect(`role-${share.username}`, `Role of ${share.username}`, share.role);
    select.addEventListener("change", async () => {
      try {
        await put(`${base}/shares/${encodeURIComponent(share.username)}`, { role: select.value });
        share.role = select.value as Role;
        report(`${share.username} is now a ${share.role}.`);
      } catch (failure) {
        select.value = share.role;
        fail(failure);
      }
    });
    const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove ${share.username}` }, "Remove");
    remove.addEventListener("click", async () => {
      try {
        await busy(remove, () => del(`${base}/shares/${encodeURIComponent(share.username)}`));
        const item = remove.closest("li");
        (item?.nextElementSibling?.querySelector("button") ?? username.input).focus();
        item?.remove();
        showEmpty();
        report(`${share.username} no longer has access.`);
      } catch (failure) {
        fail(failure);
      }
    });
    return h("li", { class: "share", "data-username": share.username }, h("span", { class: "share-name" }, share.username), select, remove);
  }

  function showEmpty(): void {
    list.querySelector(".empty")?.remove();
    if (!list.querySelector("li.share")) list.append(h("li", { class: "empty help" }, "Not shared with anyone yet."));
  }

  const addShare = async () => {
    const name = username.input.value.trim();
    if (!name) {
      error.show("Enter the username of the person to share with.");
      username.input.focus();
      return;
    }
    try {
      const share = (await busy(add, () => put(`${base}/shares/${encodeURIComponent(name)}`, { role: role.value }))) as Share;
      list.querySelector(`li.share[data-username="${CSS.escape(share.username)}"]`)?.remove();
      list.append(row(share));
      showEmpty();
      username.input.value = "";
      username.input.focus();
      report(`Shared with ${share.username} as a ${share.role}.`);
    } catch (failure) {
      fail(failure);
      username.input.select();
    }
  };

  publicBox.addEventListener("change", async () => {
    const enabled = publicBox.checked;
    publicBox.disabled = true;
    try {
      await put(`${base}/public`, { enabled });
      linkRow.hidden = !enabled;
      report(enabled ? "Anyone with the link can now read this notebook." : "The public link is off.");
    } catch (failure) {
      publicBox.checked = !enabled;
      fail(failure);
    } finally {
      publicBox.disabled = false;
    }
  });
  copy.addEventListener("click", async () => {
    publicLink.select();
    try {
      await navigator.clipboard.writeText(publicLink.value);
      report("Link copied.");
    } catch {
      report("Press Ctrl+C (or ⌘C) to copy the selected link.");
    }
  });

  body.append(
    form(
      "share-form",
      addShare,
      h("div", { class: "share-add" }, username.row, h("div", { class: "field" }, h("label", { for: roleId }, "Role"), role), add),
      h("p", { class: "help" }, "Viewers read the notebook; collaborators also edit and run it."),
    ),
    h("h3", {}, "People with access"),
    list,
    h(
      "div",
      { class: "public-toggle" },
      publicBox,
      h("label", { for: "share-public" }, "Public read-only link"),
      h("p", { class: "help" }, "Anyone with the link can read the notebook, signed in or not; only you and collaborators edit it."),
    ),
    linkRow,
    status.element,
    error.element,
  );
  username.input.focus();

  void get(`${base}/shares`)
    .then((answer: { shares: Share[]; public_link: boolean }) => {
      list.replaceChildren(...answer.shares.map(row));
      showEmpty();
      publicBox.checked = answer.public_link;
      publicBox.disabled = false;
      linkRow.hidden = !answer.public_link;
    })
    .catch(fail);
}
