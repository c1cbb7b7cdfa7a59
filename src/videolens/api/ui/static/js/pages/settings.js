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
  main.append(section("API tokens", form, secret, list),
    section("Access keys", h("p", { class: "muted" }, "SigV4 access keys are managed with the CLI: videolens keys create.")));
  await load();
  return null;
}
