// The UI shell: sign-in with an API token, the navigation, one module per page (hash routes).

import { api, ApiError, authHeaders, session } from "./api.js";
import { clear, field, h } from "./dom.js";
import { follow } from "./sse.js";

const PAGES = {
  live: () => import("./pages/live.js"),
  recordings: () => import("./pages/recordings.js"),
  people: () => import("./pages/people.js"),
  sightings: () => import("./pages/sightings.js"),
  jobs: () => import("./pages/jobs.js"),
  processors: () => import("./pages/processors.js"),
  events: () => import("./pages/events.js"),
  settings: () => import("./pages/settings.js"),
};

const main = document.getElementById("main");
const notice = document.getElementById("notice");
let current = null; // the page shown: {stop()} to end its live updates
const listeners = new Set();
let updates = null;

/** Show a message to the person (errors in plain words); clears itself after a while. */
export function say(message, kind = "error") {
  clear(notice, h("p", { class: kind }, message));
  clearTimeout(say.timer);
  say.timer = setTimeout(() => clear(notice), 8000);
}

/** Run an async action and show its error in plain words instead of failing silently. */
export async function attempt(action) {
  try { return await action(); } catch (error) {
    say(error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`);
    return undefined;
  }
}

/** Subscribe a page to /v1/updates events (job, processor, sighting); returns the unsubscribe. */
export function onUpdate(fn) {
  listeners.add(fn);
  if (!updates) {
    updates = follow("/v1/updates", authHeaders(), (message) => listeners.forEach((l) => l(message)));
  }
  return () => listeners.delete(fn);
}

function login(reason) {
  document.getElementById("logout").hidden = true;
  const input = h("input", { type: "password", name: "token", autocomplete: "off", required: true });
  const form = h("form", { class: "card login", "aria-label": "Sign in" },
    h("h1", {}, "Sign in"),
    h("p", {}, "This server runs in secure mode. Paste an API token (videolens tokens create)."),
    reason ? h("p", { class: "error", role: "alert" }, reason) : null,
    field("API token", input),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.token = input.value.trim();
    await start();
  });
  clear(main, form);
  input.focus();
}

async function start() {
  if (!session.token) {
    const { auth_mode: mode } = await (await fetch("/ui/config.json")).json();
    if (mode === "secure") { login(""); return; }
  }
  try {
    session.identity = await api("/v1/whoami");
  } catch (error) {
    session.token = "";
    if (error instanceof ApiError && (error.status === 401 || error.status === 429)) {
      login(error.status === 429 || document.querySelector("form.login") ? error.message : "");
      return;
    }
    say(error.message);
    return;
  }
  const who = session.identity;
  clear(document.getElementById("who"), who.kind === "dev" ? "dev mode (no sign-in)" : `${who.role} · ${who.id}`);
  document.getElementById("logout").hidden = who.kind === "dev";
  document.body.dataset.role = who.role;
  if (!location.hash || location.hash === "#/") location.hash = "#/live";
  else route();
}

async function route() {
  if (!session.identity) return;
  const name = (location.hash.replace(/^#\//, "").split("/")[0]) || "live";
  const load = PAGES[name] || PAGES.live;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current && current.stop) current.stop();
  current = null;
  const generation = ++route.generation;
  const module = await load();
  if (generation !== route.generation) return;
  // each page renders into its own element: a page left before it finished loading keeps writing
  // into a detached element, never into the page shown now
  const view = h("div", { class: "view" });
  clear(main, view);
  document.title = `${module.title} · videolens`;
  main.focus({ preventScroll: true });
  const page = (await attempt(() => module.render(view))) || null;
  if (generation !== route.generation) {
    if (page && page.stop) page.stop();
    return;
  }
  current = page;
}

route.generation = 0;
window.addEventListener("hashchange", route);
// the hash names pages, so the skip link moves the focus itself instead of changing the hash
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
document.getElementById("logout").addEventListener("click", () => {
  session.token = "";
  session.identity = null;
  if (updates) { updates.stop(); updates = null; }
  clear(document.getElementById("who"));
  login("");
});
start();
