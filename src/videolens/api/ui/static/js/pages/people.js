// People: collections, one card per person (external id) with their faces; enrol by dropping photos.

import { api, session } from "../api.js";
import { attempt, say } from "../app.js";
import { clear, field, h, section } from "../dom.js";
import { byPerson } from "../model.js";

export const title = "People";

async function allFaces(collection) {
  const faces = [];
  let token = null;
  do {
    const q = new URLSearchParams({ max_results: "4096" });
    if (token) q.set("next_token", token);
    const page = await api(`/v1/collections/${encodeURIComponent(collection)}/faces?${q}`);
    faces.push(...page.faces);
    token = page.next_token;
  } while (token);
  return faces;
}

function dropZone(label, onFiles) {
  const input = h("input", { type: "file", accept: "image/jpeg,image/png", multiple: true, class: "visually-hidden" });
  const zone = h("div", { class: "drop", tabindex: "0", role: "button", "aria-label": label },
    h("span", {}, label), input);
  input.addEventListener("change", () => { onFiles([...input.files]); input.value = ""; });
  zone.addEventListener("click", (e) => { if (e.target !== input) input.click(); });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    onFiles([...e.dataTransfer.files].filter((f) => /^image\//.test(f.type)));
  });
  return zone;
}

/** The face's stored crop, fetched with the token (an <img src> sends no header) and shown as a blob: URL. */
function thumbnail(collection, face, person, urls) {
  const img = h("img", { class: "thumb", width: "44", height: "44", alt: `Face ${face.face_id.slice(0, 8)} of ${person}` });
  api(`/v1/collections/${encodeURIComponent(collection)}/faces/${face.face_id}/thumbnail`, { raw: true })
    .then((r) => r.blob())
    .then((b) => { const url = URL.createObjectURL(b); urls.push(url); img.src = url; })
    .catch(() => img.replaceWith(h("span", { class: "thumb none", title: "No thumbnail (indexed before they were kept)" }, "?")));
  return img;
}

function reasonText(unindexed) {
  return unindexed.map((u) => u.reasons.join(", ").toLowerCase().replaceAll("_", " ")).join("; ");
}

export async function render(main) {
  main.append(h("h1", {}, "People"));
  const { collections } = await api("/v1/collections");
  const picker = h("select", { name: "collection" }, collections.map((c) => h("option", { value: c.collection_id }, c.collection_id)));
  const cards = h("div", { class: "cards wide", role: "list", "aria-label": "People" });
  const results = h("ul", { class: "results", "aria-label": "Enrolment results", "aria-live": "polite" });
  const name = h("input", { name: "person", required: true, pattern: "[a-zA-Z0-9_.\\-:]+", placeholder: "e.g. alice" });
  const searchOut = h("div", { "aria-live": "polite" });

  const urls = []; // blob: URLs of the thumbnails shown, released on every refresh
  const refresh = async () => {
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    if (!picker.value) { clear(cards, h("p", {}, "No collection yet.")); return; }
    const faces = await allFaces(picker.value);
    const people = byPerson(faces);
    clear(cards, [...people.entries()].map(([person, list]) => personCard(person, list)));
    if (!people.size) cards.append(h("p", {}, "Nobody enrolled in this collection yet."));
  };

  const personCard = (person, faces) => h("article", { class: "card person", role: "listitem", "aria-label": person },
    h("div", { class: "avatar", "aria-hidden": "true" }, person.slice(0, 2).toUpperCase()),
    h("h3", {}, person),
    h("p", {}, `${faces.length} face${faces.length === 1 ? "" : "s"}`),
    h("ul", { class: "plain faces" }, faces.map((f) => h("li", {},
      f.external_image_id ? thumbnail(picker.value, f, person, urls) : null,
      h("code", {}, f.face_id.slice(0, 8)), ` ${f.confidence.toFixed(1)}%`,
      session.can("operator") ? h("button", { type: "button", class: "danger small", "aria-label": `Remove face ${f.face_id} of ${person}`,
        onclick: () => attempt(async () => {
          await api(`/v1/collections/${encodeURIComponent(picker.value)}/faces/${f.face_id}`, { method: "DELETE" });
          await refresh();
        }) }, "Remove") : null))),
    session.can("operator") ? h("button", { type: "button", class: "danger", "aria-label": `Remove ${person}`,
      onclick: () => attempt(async () => {
        if (!confirm(`Remove ${person} and their ${faces.length} face(s)?`)) return;
        await api(`/v1/collections/${encodeURIComponent(picker.value)}/faces/delete`, { method: "POST", body: { face_ids: faces.map((f) => f.face_id) } });
        say(`${person} removed.`, "ok");
        await refresh();
      }) }, "Remove person") : null,
    session.can("operator") && faces[0].external_image_id ? renameForm(person) : null);

  const renameForm = (person) => {
    const input = h("input", { name: "new_name", required: true, pattern: "[a-zA-Z0-9_.\\-:]+", value: person });
    const form = h("form", { class: "inline", "aria-label": `Rename ${person}` },
      field(`New name for ${person}`, input), h("button", { type: "submit" }, "Rename"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (input.value === person) return;
      attempt(async () => {
        const r = await api(`/v1/collections/${encodeURIComponent(picker.value)}/people/${encodeURIComponent(person)}/rename`,
          { method: "POST", body: { new_external_image_id: input.value } });
        say(`${person} is now ${r.external_image_id} (${r.faces_renamed} face${r.faces_renamed === 1 ? "" : "s"}).`, "ok");
        await refresh();
      });
    });
    return form;
  };

  const enrol = async (files) => {
    if (!picker.value) { say("Create a collection first."); return; }
    if (!name.checkValidity()) { say("Give the person a name (letters, digits, _ . - :) before dropping photos."); name.focus(); return; }
    for (const file of files) {
      const item = h("li", {}, `${file.name}: uploading…`);
      results.append(item);
      try {
        const q = new URLSearchParams({ external_image_id: name.value, max_faces: "1" });
        const r = await api(`/v1/collections/${encodeURIComponent(picker.value)}/faces?${q}`, {
          method: "POST", body: file, headers: { "Content-Type": file.type || "image/jpeg" } });
        const why = r.unindexed.length ? ` (not indexed: ${reasonText(r.unindexed)})` : "";
        item.textContent = r.records.length ? `${file.name}: indexed${why}` : `${file.name}: unindexed${why || " (no face found)"}`;
        item.className = r.records.length ? "ok" : "warn";
      } catch (error) {
        item.textContent = `${file.name}: unindexed (${error.message})`;
        item.className = "error";
      }
    }
    await refresh();
  };

  const search = async (files) => {
    const file = files[0];
    if (!file || !picker.value) return;
    const r = await attempt(() => api(`/v1/collections/${encodeURIComponent(picker.value)}/search?max_faces=5`, {
      method: "POST", body: file, headers: { "Content-Type": file.type || "image/jpeg" } }));
    if (!r) return;
    clear(searchOut, r.matches.length
      ? h("ol", {}, r.matches.map((m) => h("li", {}, `${m.face.external_image_id || m.face.face_id} — ${m.similarity.toFixed(1)}%`)))
      : h("p", {}, "Nobody in this collection matches."));
  };

  const newCollection = h("input", { name: "collection_id", required: true, pattern: "[a-zA-Z0-9_.\\-]+" });
  const createForm = h("form", { class: "inline", "aria-label": "Create a collection" },
    field("New collection", newCollection), h("button", { type: "submit" }, "Create collection"));
  createForm.addEventListener("submit", (e) => {
    e.preventDefault();
    attempt(async () => {
      await api("/v1/collections", { method: "POST", body: { collection_id: newCollection.value } });
      picker.append(h("option", { value: newCollection.value }, newCollection.value));
      picker.value = newCollection.value;
      newCollection.value = "";
      await refresh();
    });
  });
  picker.addEventListener("change", () => attempt(refresh));

  main.append(
    h("div", { class: "toolbar" }, field("Collection", picker), session.can("operator") ? createForm : null),
    session.can("operator") ? section("Enrol a person",
      h("div", { class: "inline" }, field("Person's name (external id)", name)),
      dropZone("Drop photos here, or press to choose photos to enrol", (f) => attempt(() => enrol(f))),
      results) : null,
    section("Search by photo", dropZone("Drop a photo to search this collection", (f) => attempt(() => search(f))), searchOut),
    section("Enrolled people", cards));
  await refresh();
  return null;
}
