// Jobs: upload a video, run face detection / face search / anonymize, follow progress live, see results.

import { api, playable, session, upload } from "../api.js";
import { attempt, onUpdate, say } from "../app.js";
import { clear, field, h, section, table, when } from "../dom.js";
import { timelineMarks } from "../model.js";

export const title = "Jobs";
const UPLOAD_BUCKET = "ui-uploads";

function progressBar(label) {
  return h("progress", { max: "100", value: "0", "aria-label": label });
}

async function showResult(out, job) {
  if (job.job_type === "anonymize") {
    const aj = await api(`/v1/anonymize/jobs/${job.job_id}`);
    if (!aj.result_url) { clear(out, h("p", {}, `Anonymize job ${aj.status}${aj.error ? `: ${aj.error}` : ""}.`)); return; }
    const original = await playable(`/v1/buckets/${encodeURIComponent(aj.bucket)}/objects/${aj.key.split("/").map(encodeURIComponent).join("/")}`);
    const result = await playable(new URL(aj.result_url, location.href).pathname);
    clear(out, h("div", { class: "side-by-side" },
      h("figure", {}, h("video", { src: original, controls: true, muted: true, "aria-label": "Original video" }), h("figcaption", {}, "Original")),
      h("figure", {}, h("video", { src: result, controls: true, muted: true, class: "anonymized", "aria-label": "Anonymized video" }),
        h("figcaption", {}, `Anonymized · ${aj.faces ?? 0} faces blurred `, h("a", { href: result, download: "" }, "Download")))));
    return;
  }
  const page = await api(`/v1/jobs/${job.job_id}/results?max_results=1000`);
  const duration = page.job.video_metadata ? page.job.video_metadata.DurationMillis : 0;
  const marks = timelineMarks(page.items, duration);
  clear(out, h("p", {}, `${page.items.length} result(s).`),
    h("div", { class: "timeline", role: "img", "aria-label": `Timeline with ${marks.length} faces` },
      marks.map((m) => h("span", { class: "mark", style: `left:${m.left}%`, title: m.label }))));
}

export async function render(main) {
  main.append(h("h1", {}, "Jobs"));
  const rows = h("tbody");
  const out = h("div", { class: "job-result", "aria-live": "polite" });
  const list = h("table", {}, h("caption", {}, "Video jobs"),
    h("thead", {}, h("tr", {}, ["Job", "Type", "Input", "Status", "Progress", "Created", ""].map((c) => h("th", { scope: "col" }, c)))), rows);
  const jobs = new Map();

  const row = (j) => h("tr", { dataset: { job: j.job_id } },
    h("td", {}, h("code", {}, j.job_id.slice(0, 8))), h("td", {}, j.job_type), h("td", {}, j.key.split("/").pop()),
    h("td", { class: "status" }, j.status),
    h("td", {}, h("progress", { max: "100", value: String(j.progress || 0), "aria-label": `Progress of job ${j.job_id.slice(0, 8)}` })),
    h("td", {}, when(j.created_at)),
    h("td", {}, h("button", { type: "button", "aria-label": `Show results of job ${j.job_id.slice(0, 8)}`,
      onclick: () => attempt(() => showResult(out, j)) }, "Results")));
  const put = (j) => {
    jobs.set(j.job_id, { ...(jobs.get(j.job_id) || {}), ...j });
    const el = row(jobs.get(j.job_id));
    const old = rows.querySelector(`[data-job="${j.job_id}"]`);
    if (old) old.replaceWith(el); else rows.prepend(el);
  };
  const { jobs: existing } = await api("/v1/jobs?max_results=100");
  existing.reverse().forEach(put);
  const unsubscribe = onUpdate((m) => { if (m.event === "job" && jobs.has(m.data.job_id)) put(m.data); else if (m.event === "job") put({ created_at: null, ...m.data }); });

  if (session.can("operator")) {
    const file = h("input", { type: "file", name: "video", accept: "video/*", required: true });
    const kind = h("select", { name: "type" },
      h("option", { value: "anonymize" }, "Anonymize (blur faces)"),
      h("option", { value: "face-detection" }, "Face detection"),
      h("option", { value: "face-search" }, "Face search"));
    const mode = h("select", { name: "mode" }, ["blur", "pixelate", "solid"].map((m) => h("option", { value: m }, m)));
    const collection = h("input", { name: "collection_id", placeholder: "for face search" });
    const bar = progressBar("Upload progress");
    const form = h("form", { class: "card", "aria-label": "New job" },
      field("Video file", file), field("Analysis", kind), field("Anonymize mode", mode), field("Collection (face search)", collection),
      bar, h("button", { type: "submit" }, "Upload and start"));
    form.addEventListener("dragover", (e) => e.preventDefault());
    form.addEventListener("drop", (e) => { e.preventDefault(); file.files = e.dataTransfer.files; });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const video = file.files[0];
      if (!video) { say("Choose a video file first."); return; }
      attempt(async () => {
        let job;
        if (kind.value === "anonymize") {
          const data = new FormData();
          data.append("mode", mode.value);
          data.append("file", video, video.name);
          const aj = await upload("/v1/anonymize/jobs", data, (p) => { bar.value = 100 * p; });
          job = { job_id: aj.job_id, job_type: "anonymize", key: aj.key, status: aj.status, progress: aj.progress, created_at: aj.created_at };
        } else {
          const { buckets } = await api("/v1/buckets");
          if (!buckets.some((b) => b.name === UPLOAD_BUCKET)) await api(`/v1/buckets/${UPLOAD_BUCKET}`, { method: "PUT" });
          const key = `${Date.now()}-${video.name.replace(/[^\w.\-]/g, "_")}`;
          await new Promise((resolve, reject) => {
            const xhr = new XMLHttpRequest();
            xhr.open("PUT", `/v1/buckets/${UPLOAD_BUCKET}/objects/${key}`);
            if (session.token) xhr.setRequestHeader("Authorization", `Bearer ${session.token}`);
            xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) bar.value = (100 * ev.loaded) / ev.total; };
            xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(`upload failed (${xhr.status})`)));
            xhr.onerror = () => reject(new Error("upload failed"));
            xhr.send(video);
          });
          const params = kind.value === "face-search" ? { collection_id: collection.value } : {};
          job = await api("/v1/jobs", { method: "POST", body: { type: kind.value, bucket: UPLOAD_BUCKET, key, params } });
        }
        bar.value = 100;
        if (!jobs.has(job.job_id)) put(job); // /v1/updates may have told a newer state already
        say(`Job ${job.job_id.slice(0, 8)} started.`, "ok");
      });
    });
    main.append(section("New job", form));
  }
  main.append(section("Jobs", list, out));
  return { stop: unsubscribe };
}
