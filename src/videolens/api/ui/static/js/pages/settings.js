// Settings: API tokens (create, revoke; the secret is shown once) and what this server is.

import { api, session } from "../api.js";
import { attempt, say } from "../app.js";
import { clear, field, h, section, table, when } from "../dom.js";

export const title = "Settings";

export async function render(main) {
  main.append(h("h1", {}, "Settings"));
  const health = await api("/healthz");
  const me = session.identity;
  main.append(section("Server", h("dl", {},
    h("dt", {}, "Version"), h("dd", {}, health.version),
    h("dt", {}, "Signed in as"), h("dd", {}, `${me.id} (${me.kind}, ${me.role})`),
    h("dt", {}, "API"), h("dd", {}, h("a", { href: "/docs" }, "/docs"), " · ", h("a", { href: "/openapi.json" }, "/openapi.json")))));
  if (!session.can("admin")) {
    main.append(section("API tokens", h("p", {}, "Managing tokens needs the admin role.")));
    return null;
  }
  const list = h("div");
  const secret = h("div", { "aria-live": "polite" });
  const load = async () => {
    const tokens = await api("/v1/tokens");
    clear(list, table("API tokens", ["Id", "Name", "Role", "Created", "Last used", "State", ""],
      tokens.map((t) => [h("code", {}, t.token_id), t.name, t.role, when(t.created_at), when(t.last_used_at),
        t.revoked_at ? "revoked" : t.expires_at && new Date(t.expires_at) < new Date() ? "expired" : "active",
        t.revoked_at ? "" : h("button", { type: "button", class: "danger small", "aria-label": `Revoke token ${t.token_id}`,
          onclick: () => attempt(async () => { await api(`/v1/tokens/${t.token_id}`, { method: "DELETE" }); await load(); }) }, "Revoke")])));
  };
  const name = h("input", { name: "name", maxlength: "255" });
  const role = h("select", { name: "role" }, ["viewer", "operator", "admin"].map((r) => h("option", {}, r)));
  const form = h("form", { class: "card inline", "aria-label": "New API token" }, field("Token name", name), field("Role", role),
    h("button", { type: "submit" }, "Create token"));
  form.addEventListener("submit", (e) => { e.preventDefault(); attempt(async () => {
    const t = await api("/v1/tokens", { method: "POST", body: { name: name.value, role: role.value } });
    clear(secret, h("p", { class: "ok" }, "Copy this token now; it is not shown again: ", h("code", { class: "secret" }, t.token)));
    say("Token created.", "ok");
    await load();
  }); });
  main.append(section("API tokens", form, secret, list), accessKeys());
  await load();
  return null;
}

/** SigV4 key pairs for boto3 / the AWS CLI: create (the secret is shown once), list, revoke. */
function accessKeys() {
  const list = h("div");
  const secret = h("div", { "aria-live": "polite" });
  const load = async () => {
    const keys = await api("/v1/access-keys");
    clear(list, table("Access keys", ["Access key id", "Description", "Role", "Created", ""],
      keys.map((k) => [h("code", {}, k.access_key_id), k.description, k.role, when(k.created_at),
        h("button", { type: "button", class: "danger small", "aria-label": `Revoke access key ${k.access_key_id}`,
          onclick: () => attempt(async () => {
            if (!confirm(`Revoke ${k.access_key_id}? Clients signing with it are refused from now on.`)) return;
            await api(`/v1/access-keys/${k.access_key_id}`, { method: "DELETE" });
            clear(secret);
            await load();
          }) }, "Revoke")])));
  };
  const description = h("input", { name: "description", maxlength: "255", placeholder: "e.g. camera gateway" });
  const role = h("select", { name: "key_role" }, ["viewer", "operator", "admin"].map((r) => h("option", {}, r)));
  const form = h("form", { class: "card inline", "aria-label": "New access key" }, field("Key description", description),
    field("Key role", role), h("button", { type: "submit" }, "Create access key"));
  form.addEventListener("submit", (e) => { e.preventDefault(); attempt(async () => {
    const k = await api("/v1/access-keys", { method: "POST", body: { description: description.value, role: role.value } });
    clear(secret, h("p", { class: "ok" }, "Copy the secret now; it is not shown again. ",
      "AWS_ACCESS_KEY_ID=", h("code", { class: "secret", "aria-label": "New access key id" }, k.access_key_id), " ",
      "AWS_SECRET_ACCESS_KEY=", h("code", { class: "secret", "aria-label": "New secret access key" }, k.secret_access_key)));
    say("Access key created.", "ok");
    await load();
  }); });
  const out = section("Access keys", h("p", { class: "muted" }, "For SigV4-signed clients (boto3, the AWS CLI) on the AWS door."),
    form, secret, list);
  load().catch((error) => clear(list, h("p", { class: "error" }, error.message)));
  return out;
}
