// Recordings: per stream, a timeline of the retained fragments (marked where faces were seen); play, export, anonymize.

import { api, playable, session } from "../api.js";
import { attempt, say } from "../app.js";
import { clear, field, h, section, when } from "../dom.js";
import { activityOf, byPerson, timeline } from "../model.js";

export const title = "Recordings";

/** The records the stream's processors wrote (their output data streams, read from the start). */
async function processorRecords(streamArn) {
  const { processors } = await api("/v1/processors");
  const records = [];
  for (const p of processors) {
    const input = (p.definition.Input || {}).KinesisVideoStream;
    const output = (p.definition.Output || {}).KinesisDataStream;
    if (!input || !output || input.Arn !== streamArn) continue;
    const name = encodeURIComponent(output.Arn.split("/").pop());
    for (const shard of await api(`/v1/datastreams/${name}/shards`)) {
      const page = await api(`/v1/datastreams/${name}/shards/${shard.shard_id}/records?position=TRIM_HORIZON&limit=10000`);
      for (const rec of page.records) {
        try { records.push(JSON.parse(atob(rec.data))); } catch { /* not a processor record */ }
      }
    }
  }
  return records;
}

/** Fragments where the sightings index saw an enrolled person on this stream (kept after the processor's
 * records are gone): one /v1/sightings/search per person, with the person's first face. */
async function sightingMarks(streamArn) {
  const marks = new Map();
  const { collections } = await api("/v1/collections");
  for (const c of collections) {
    const coll = encodeURIComponent(c.collection_id);
    const { faces } = await api(`/v1/collections/${coll}/faces?max_results=4096`);
    for (const [person, list] of byPerson(faces.filter((f) => f.external_image_id))) {
      const q = new URLSearchParams({ collection_id: c.collection_id, face_id: list[0].face_id, stream: streamArn });
      const { Sightings } = await api(`/v1/sightings/search?${q}`);
      for (const s of Sightings) {
        for (const fragment of s.fragments || []) {
          if (!marks.has(fragment)) marks.set(fragment, new Set());
          marks.get(fragment).add(person);
        }
      }
    }
  }
  return marks;
}

function merged(...maps) {
  const out = new Map();
  for (const m of maps) for (const [k, names] of m) out.set(k, new Set([...(out.get(k) || []), ...names]));
  return out;
}

export async function render(main) {
  main.append(h("h1", {}, "Recordings"));
  const { streams } = await api("/v1/streams");
  const picker = h("select", { name: "stream" }, streams.map((s) => h("option", { value: s.name }, s.name)));
  const bar = h("div", { class: "timeline", role: "group", "aria-label": "Retained fragments" });
  const player = h("video", { controls: true, muted: true, "aria-label": "Recording player" });
  const from = h("input", { type: "number", step: "0.1", name: "from", "aria-describedby": "range-help" });
  const to = h("input", { type: "number", step: "0.1", name: "to" });
  const links = h("p", { "aria-live": "polite" });
  let current = { start: 0, end: 0, segments: [] };

  const clipPath = () => `/v1/streams/${encodeURIComponent(picker.value)}/clip.mp4?start=${Number(from.value)}&end=${Number(to.value)}`;
  const load = async () => {
    if (!picker.value) { clear(bar, h("p", {}, "No streams.")); return; }
    const { fragments } = await api(`/v1/streams/${encodeURIComponent(picker.value)}/fragments?max_results=1000`);
    const stream = streams.find((x) => x.name === picker.value);
    const [records, sighted] = await Promise.all([
      processorRecords(stream.arn).catch(() => []), sightingMarks(stream.arn).catch(() => new Map())]);
    const activity = merged(activityOf(records), sighted);
    current = timeline(fragments);
    clear(bar, current.segments.map((s) => h("button", {
      type: "button", class: activity.has(s.fragment.fragment_number) ? "segment faces" : "segment",
      style: `left:${s.left}%;width:${s.width}%`,
      title: activity.has(s.fragment.fragment_number) ? [...activity.get(s.fragment.fragment_number)].join(", ") : null,
      "aria-label": `Play fragment at ${when(s.fragment.producer_timestamp)}`
        + (activity.has(s.fragment.fragment_number) ? `, faces: ${[...activity.get(s.fragment.fragment_number)].join(", ")}` : ""),
      onclick: () => attempt(async () => {
        from.value = s.fragment.producer_timestamp.toFixed(3);
        to.value = (s.fragment.producer_timestamp + 10).toFixed(3);
        player.src = await playable(clipPath());
        player.play().catch(() => {});
      }),
    })));
    from.value = current.start.toFixed(3);
    to.value = Math.min(current.end, current.start + 30).toFixed(3);
    if (!fragments.length) bar.append(h("p", {}, "Nothing retained for this stream."));
  };
  picker.addEventListener("change", () => attempt(load));

  const exportButton = h("button", { type: "button", onclick: () => attempt(async () => {
    const url = await playable(clipPath());
    clear(links, h("a", { href: url, download: `${picker.value}.mp4` }, "Download the clip"));
  }) }, "Export clip");
  const anonymizeButton = session.can("operator") ? h("button", { type: "button", onclick: () => attempt(async () => {
    const response = await api(clipPath(), { raw: true });
    const data = new FormData();
    data.append("mode", "blur");
    data.append("file", await response.blob(), `${picker.value}.mp4`);
    const job = await api("/v1/anonymize/jobs", { method: "POST", body: data });
    say(`Anonymize job ${job.job_id.slice(0, 8)} started: see Jobs.`, "ok");
  }) }, "Anonymize this clip") : null;

  main.append(
    field("Stream", picker),
    section("Timeline", bar, player),
    section("Clip",
      h("p", { id: "range-help", class: "muted" }, "Producer timestamps, in seconds since 1970."),
      h("div", { class: "inline" }, field("From", from), field("To", to)),
      h("div", { class: "inline" }, exportButton, anonymizeButton), links));
  await load();
  return null;
}
