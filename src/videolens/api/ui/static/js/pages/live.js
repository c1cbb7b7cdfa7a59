// Live: a wall of the streams (HLS), overlays from the processors on each stream, stream health.

import { api, authHeaders } from "../api.js";
import { attempt, onUpdate } from "../app.js";
import { clear, h } from "../dom.js";
import { boxesOf, containRect, playheadPosition, RecordBuffer } from "../overlay.js";
import { follow } from "../sse.js";

export const title = "Live";

let hlsModule = null;
async function loadHls() {
  if (hlsModule === null) {
    hlsModule = await new Promise((resolve) => {
      const s = document.createElement("script");
      s.src = "/ui/vendor/hls.min.js";
      s.onload = () => resolve(window.Hls || false);
      s.onerror = () => resolve(false);
      document.head.append(s);
    });
  }
  return hlsModule;
}

function health(tile, video, hls) {
  const state = tile.querySelector(".health");
  let lastTime = -1;
  let lastChange = performance.now();
  return setInterval(() => {
    if (video.currentTime !== lastTime) { lastTime = video.currentTime; lastChange = performance.now(); }
    const stalled = performance.now() - lastChange > 4000;
    const edge = hls && hls.liveSyncPosition ? Math.max(0, hls.liveSyncPosition - video.currentTime) : null;
    const lag = hls && hls.latency ? hls.latency : edge;
    const text = video.readyState < 2 ? "connecting" : stalled ? "stalled" : "live";
    state.textContent = lag !== null && lag !== undefined ? `${text} · lag ${lag.toFixed(1)} s` : text;
    tile.dataset.health = text;
  }, 1000);
}

function drawLoop(tile, video, canvas, hls, buffer) {
  const ctx = canvas.getContext("2d");
  let frame = 0;
  const draw = () => {
    frame = requestAnimationFrame(draw);
    const box = video.getBoundingClientRect();
    if (canvas.width !== Math.round(box.width) || canvas.height !== Math.round(box.height)) {
      canvas.width = Math.round(box.width);
      canvas.height = Math.round(box.height);
    }
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const details = hls && hls.levels && hls.levels[hls.currentLevel >= 0 ? hls.currentLevel : 0];
    const where = playheadPosition(details && details.details ? details.details.fragments : [], video.currentTime);
    const labels = [];
    if (where) {
      const record = buffer.at(where.fragment, where.offset);
      if (record) {
        const r = containRect(video.videoWidth, video.videoHeight, canvas.width, canvas.height);
        for (const b of boxesOf(record, r.w, r.h)) {
          ctx.lineWidth = 3;
          ctx.strokeStyle = b.matched ? "#2ea043" : "#f0b400";
          ctx.strokeRect(r.x + b.x, r.y + b.y, b.w, b.h);
          ctx.font = "14px system-ui, sans-serif";
          const tw = ctx.measureText(b.label).width + 8;
          ctx.fillStyle = "rgba(0,0,0,0.7)";
          ctx.fillRect(r.x + b.x, Math.max(0, r.y + b.y - 20), tw, 20);
          ctx.fillStyle = "#fff";
          ctx.fillText(b.label, r.x + b.x + 4, Math.max(14, r.y + b.y - 6));
          labels.push(b.label);
        }
        // measured on screen: how old the frame shown is (glass to glass, by the producer's clock) and
        // how far the analysed frame drawn over it is from it (overlay alignment)
        const kv = record.InputInformation.KinesisVideo;
        const shownAt = (kv.ProducerTimestamp + where.offset) * 1000;
        const sample = { glass_ms: Date.now() - shownAt, align_ms: Math.abs(kv.FrameOffsetInSeconds - where.offset) * 1000 };
        const stats = (window.videolensOverlayStats = window.videolensOverlayStats || []);
        if (stats.length < 5000) stats.push(sample);
        tile.dataset.glassMs = Math.round(sample.glass_ms);
        tile.dataset.alignMs = Math.round(sample.align_ms);
      }
    }
    // the same labels as text, for screen readers and for tests (a canvas has no text)
    const text = labels.join(", ");
    const out = tile.querySelector(".overlay-text");
    if (out.textContent !== text) out.textContent = text;
  };
  draw();
  return () => cancelAnimationFrame(frame);
}

async function play(stream, processors, Hls) {
  const video = h("video", { muted: true, autoplay: true, playsinline: true, "aria-label": `Live video of ${stream.name}` });
  video.muted = true;
  const canvas = h("canvas", { class: "overlay", "aria-hidden": "true" });
  const tile = h("figure", { class: "tile", dataset: { stream: stream.name } },
    h("div", { class: "screen" }, video, canvas),
    h("figcaption", {},
      h("strong", {}, stream.name), " ",
      h("span", { class: "health" }, "connecting"), " ",
      h("span", { class: "overlay-text", "aria-live": "off" }),
      h("button", { type: "button", "aria-label": `Full screen ${stream.name}`, onclick: () => tile.requestFullscreen() }, "Full screen")));
  const stops = [];
  const buffer = new RecordBuffer();
  for (const p of processors) {
    const sub = follow(`/v1/processors/${encodeURIComponent(p.name)}/results`, authHeaders(),
      (m) => { if (m.event === "result") buffer.add(m.data); });
    stops.push(() => sub.stop());
  }
  const { url } = await api(`/v1/streams/${encodeURIComponent(stream.name)}/hls`, { method: "POST", body: { mode: "LIVE" } });
  const path = new URL(url).pathname + new URL(url).search;
  let hls = null;
  if (Hls && Hls.isSupported()) {
    hls = new Hls({ liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3, maxLiveSyncPlaybackRate: 1.5, lowLatencyMode: true });
    hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) tile.dataset.error = data.details; });
    hls.loadSource(path);
    hls.attachMedia(video);
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
    stops.push(() => hls.destroy());
  } else {
    video.src = path; // native HLS (Safari, recent Chromium): plays, but without overlays
  }
  const timer = health(tile, video, hls);
  stops.push(() => clearInterval(timer));
  stops.push(drawLoop(tile, video, canvas, hls, buffer));
  return { tile, stop: () => stops.forEach((s) => s()) };
}

export async function render(main) {
  const wall = h("div", { class: "wall", role: "list", "aria-label": "Video wall" });
  const status = h("p", { class: "muted" });
  main.append(h("h1", {}, "Live"), status, wall);
  const [{ streams }, procs, Hls] = await Promise.all([
    api("/v1/streams"),
    api("/v1/processors").catch(() => ({ processors: [] })),
    loadHls(),
  ]);
  const tiles = [];
  if (!streams.length) status.textContent = "No video streams yet: create one and point a camera or ffmpeg at it.";
  else status.textContent = Hls ? "" : "hls.js is not installed (make web-deps): video plays natively, without overlays.";
  for (const stream of streams) {
    const mine = procs.processors.filter((p) => (p.definition.Input || {}).KinesisVideoStream
      && p.definition.Input.KinesisVideoStream.Arn === stream.arn && p.definition.Output.KinesisDataStream);
    const tile = await attempt(() => play(stream, mine, Hls));
    if (tile) { tiles.push(tile); wall.append(h("div", { role: "listitem" }, tile.tile)); }
  }
  const unsubscribe = onUpdate((m) => {
    if (m.event !== "processor") return;
    const el = main.querySelector(`[data-processor="${CSS.escape(m.data.name)}"]`);
    if (el) el.textContent = `${m.data.name}: ${m.data.status}`;
  });
  const names = procs.processors.map((p) => h("li", { dataset: { processor: p.name } }, `${p.name}: ${p.status}`));
  main.append(h("h2", {}, "Processors"), h("ul", { class: "plain" }, names.length ? names : h("li", {}, "None.")));
  return { stop() { unsubscribe(); tiles.forEach((t) => t.stop()); } };
}
