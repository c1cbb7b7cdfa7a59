// Events: topics, the notifications sent (webhook, MQTT) with delivery state, dead letters with redeliver.

import { api, session } from "../api.js";
import { attempt, say } from "../app.js";
import { clear, h, section, table, when } from "../dom.js";

export const title = "Events";

export async function render(main) {
  main.append(h("h1", {}, "Events"));
  const box = h("div");
  const load = async () => {
    const [{ topics }, deliveries, dead] = await Promise.all([
      api("/v1/topics"), api("/v1/events/deliveries?limit=100"), api("/v1/events/dead-letters?limit=100")]);
    clear(box,
      section("Topics", table("Topics", ["Name", "ARN", "Created"], topics.map((t) => [t.name, h("code", {}, t.topic_arn), when(t.created_at)]))),
      section("Deliveries", table("Notifications sent", ["Id", "Topic", "Protocol", "Endpoint", "State", "Attempts", "Last error"],
        deliveries.map((d) => [String(d.delivery_id), d.topic_arn.split(":").pop(), d.protocol, d.endpoint, d.status, String(d.attempts), d.last_error || ""]))),
      section("Dead letters", table("Dead letters", ["Id", "Endpoint", "Attempts", "Last error", ""],
        dead.map((d) => [String(d.delivery_id), d.endpoint, String(d.attempts), d.last_error || "",
          session.can("operator") ? h("button", { type: "button", "aria-label": `Redeliver notification ${d.delivery_id}`,
            onclick: () => attempt(async () => {
              await api(`/v1/events/dead-letters/${d.delivery_id}/redrive`, { method: "POST" });
              say(`Notification ${d.delivery_id} queued again.`, "ok");
              await load();
            }) }, "Redeliver") : ""]))));
  };
  main.append(box, h("button", { type: "button", onclick: () => attempt(load) }, "Refresh"));
  await load();
  return null;
}
