// Sightings: drop a photo to find every appearance; the unknown-people groups with "enrol as…".

import { api, blobUrl, playable, session } from "../api.js";
import { attempt, onUpdate, say } from "../app.js";
import { clear, field, h, section, when } from "../dom.js";
import { streamOfArn } from "../model.js";

export const title = "Sightings";

function clipButton(s) {
  const range = s.clip && s.clip.ClipFragmentSelector && s.clip.ClipFragmentSelector.TimestampRange;
  const stream = s.clip && streamOfArn(s.clip.StreamARN);
  if (!range || !stream) return null;
  const player = h("video", { controls: true, muted: true, hidden: true, "aria-label": `Clip of the sighting on ${stream}` });
  const button = h("button", { type: "button", "aria-label": `Play the clip on ${stream} at ${when(range.StartTimestamp)}`,
    onclick: () => attempt(async () => {
      const start = range.StartTimestamp - 1;
      const end = range.EndTimestamp + 1;
      player.src = await playable(`/v1/streams/${encodeURIComponent(stream)}/clip.mp4?start=${start}&end=${end}&kind=PRODUCER_TIMESTAMP`);
      player.hidden = false;
      player.play().catch(() => {});
    }) }, "Play the clip");
  return h("div", {}, button, player);
}

export async function render(main) {
  main.append(h("h1", {}, "Sightings"));
  const found = h("div", { class: "cards", "aria-live": "polite", "aria-label": "Appearances" });
  const groups = h("div", { class: "cards", "aria-label": "Unknown people" });
  const input = h("input", { type: "file", accept: "image/jpeg,image/png", name: "photo" });
  input.addEventListener("change", () => attempt(async () => {
    const file = input.files[0];
    if (!file) return;
    const r = await api("/v1/sightings/search", { method: "POST", body: file, headers: { "Content-Type": file.type || "image/jpeg" } });
    const cards = [];
    for (const s of r.Sightings) {
      const thumb = s.thumbnail_url ? await blobUrl(new URL(s.thumbnail_url).pathname) : null;
      cards.push(h("article", { class: "card" },
        thumb ? h("img", { src: thumb, alt: `Sighting on ${s.source || s.source_kind}`, width: "96", height: "96" }) : null,
        h("p", {}, `${s.source_kind || ""} ${s.source || ""}`), h("p", { class: "muted" }, when(s.start_s)),
        s.similarity !== undefined ? h("p", {}, `${Number(s.similarity).toFixed(1)}%`) : null,
        clipButton(s)));
    }
    clear(found, cards.length ? cards : h("p", {}, "No appearance of this person."));
  }));
  const { collections } = await api("/v1/collections");
  const loadGroups = async () => {
    const { Groups } = await api("/v1/sightings/groups");
    clear(groups, Groups.length ? Groups.map((g) => {
      const name = h("input", { name: "name", pattern: "[a-zA-Z0-9_.\\-:]+", required: true });
      const coll = h("select", { name: "collection" }, collections.map((c) => h("option", {}, c.collection_id)));
      const form = h("form", { class: "card", "aria-label": `Unknown person ${g.group_id.slice(0, 8)}` },
        h("h3", {}, `Unknown ${g.group_id.slice(0, 8)}`),
        h("p", {}, `${g.sighting_ids.length} sighting(s), last ${when(g.last_s)}`),
        session.can("operator") ? [field("Enrol as", name), field("Into collection", coll), h("button", { type: "submit" }, "Enrol")] : null);
      form.addEventListener("submit", (e) => { e.preventDefault(); attempt(async () => {
        await api(`/v1/sightings/groups/${g.group_id}/enrol`, { method: "POST", body: { collection_id: coll.value, name: name.value } });
        say(`Enrolled as ${name.value}.`, "ok");
        await loadGroups();
      }); });
      return form;
    }) : h("p", {}, "No unknown people seen yet."));
  };
  main.append(section("Find a person", field("Photo of the person", input), found), section("Unknown people", groups));
  await loadGroups();
  const unsubscribe = onUpdate((m) => { if (m.event === "sighting") attempt(loadGroups); });
  return { stop: unsubscribe };
}
