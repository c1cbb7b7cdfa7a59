// Processors & analyzers: create, start, stop and delete them; status, lag, per-stream state.

import { api, ApiError, session } from "../api.js";
import { attempt, onUpdate, say } from "../app.js";
import { clear, field, h, section } from "../dom.js";
import { processorBody } from "../model.js";

export const title = "Processors & analyzers";

function actions(kind, item, reload) {
  if (!session.can("operator")) return null;
  const base = `/v1/${kind}/${encodeURIComponent(item.name)}`;
  const act = (label, method, suffix) => h("button", {
    type: "button", class: label === "Delete" ? "danger small" : "small", "aria-label": `${label} ${item.name}`,
    onclick: () => attempt(async () => { await api(base + suffix, { method }); await reload(); }),
  }, label);
  return [act("Start", "POST", "/start"), act("Stop", "POST", "/stop"), act("Delete", "DELETE", "")];
}

let analyzersKnown = null;
async function hasAnalyzers() {
  if (analyzersKnown === null) {
    const schema = await api("/openapi.json").catch(() => ({ paths: {} }));
    analyzersKnown = Boolean(schema.paths && schema.paths["/v1/analyzers"]);
  }
  return analyzersKnown;
}

export async function render(main) {
  main.append(h("h1", {}, "Processors & analyzers"));
  const procRows = h("tbody");
  // the last state /v1/updates gave per processor: a list read before it must not undo it (a later
  // change brings a newer event anyway)
  const latest = new Map();
  const anaBox = h("div");
  const reload = async () => {
    const { processors } = await api("/v1/processors");
    clear(procRows, processors.length ? processors.map((p) => h("tr", { dataset: { processor: p.name } },
      h("td", {}, p.name), h("td", { class: "status" }, p.status + (p.status_message ? ` (${p.status_message})` : "")),
      h("td", { class: "lag" }, String(p.lag_fragments ?? "")), h("td", {}, String(p.fragments_done)),
      h("td", {}, String(p.records_out)), h("td", {}, actions("processors", p, reload))))
      : h("tr", {}, h("td", { colspan: "6" }, "No processors yet.")));
    latest.forEach(apply);
    try {
      // asking the schema first: a server without analyzers (issue 14) is not an error to log
      if (!(await hasAnalyzers())) throw new ApiError(404, { detail: "no /v1/analyzers" });
      const doc = await api("/v1/analyzers");
      const analyzers = doc.analyzers || [];
      clear(anaBox, h("table", {}, h("caption", {}, "Analyzers"),
        h("thead", {}, h("tr", {}, ["Name", "Model", "Status", "Per stream (lease · checkpoint)", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, analyzers.length ? analyzers.map((a) => h("tr", {},
          h("td", {}, a.name), h("td", {}, a.model || ""), h("td", {}, a.status || ""),
          h("td", {}, (a.streams_state || a.streams || []).map((s) => typeof s === "string" ? s
            : `${s.stream}: ${s.state || ""} · ${s.lease_owner || "no lease"} · ${s.checkpoint || "-"}`).join("; ")),
          h("td", {}, actions("analyzers", a, reload)))) : h("tr", {}, h("td", { colspan: "5" }, "No analyzers yet.")))));
    } catch (error) {
      clear(anaBox, h("p", { class: "muted" }, error instanceof ApiError && error.status === 404
        ? "Analyzers are not available on this server (no /v1/analyzers)." : error.message));
    }
  };
  const apply = (state) => {
    const row = procRows.querySelector(`[data-processor="${CSS.escape(state.name)}"]`);
    if (!row) return false;
    row.querySelector(".status").textContent = state.status + (state.status_message ? ` (${state.status_message})` : "");
    row.querySelector(".lag").textContent = String(state.lag_fragments ?? "");
    return true;
  };
  const unsubscribe = onUpdate((m) => {
    if (m.event !== "processor") return;
    latest.set(m.data.name, m.data);
    if (!apply(m.data)) attempt(reload);
  });

  if (session.can("operator")) {
    const [{ streams }, { collections }, { streams: dataStreams }] = await Promise.all([
      api("/v1/streams"), api("/v1/collections"), api("/v1/datastreams")]);
    const name = h("input", { name: "name", required: true, pattern: "[a-zA-Z0-9_.\\-]+", maxlength: "128" });
    const stream = h("select", { name: "stream", required: true }, streams.map((s) => h("option", { value: s.arn }, s.name)));
    const coll = h("select", { name: "collection", required: true }, collections.map((c) => h("option", {}, c.collection_id)));
    const out = h("select", { name: "data_stream", required: true }, dataStreams.map((d) => h("option", { value: d.arn }, d.name)));
    const threshold = h("input", { name: "threshold", type: "number", min: "0", max: "100", step: "0.1", value: "80" });
    const form = h("form", { class: "card", "aria-label": "New face-search processor" },
      field("Name", name), field("Video stream", stream), field("Collection", coll), field("Output data stream", out),
      field("Match threshold (%)", threshold), h("button", { type: "submit" }, "Create processor"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      attempt(async () => {
        await api("/v1/processors", { method: "POST", body: processorBody({ name: name.value, streamArn: stream.value,
          collection: coll.value, dataStreamArn: out.value, threshold: threshold.value }) });
        say(`Processor ${name.value} created.`, "ok");
        await reload();
      });
    });
    main.append(section("New processor", form));
  }
  main.append(section("Stream processors", h("table", {}, h("caption", {}, "Stream processors"),
    h("thead", {}, h("tr", {}, ["Name", "Status", "Lag (fragments)", "Fragments done", "Records", ""].map((c) => h("th", { scope: "col" }, c)))),
    procRows)), section("Analyzers", anaBox));
  await reload();
  return { stop: unsubscribe };
}
