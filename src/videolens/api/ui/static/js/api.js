// The REST client of the UI: the public /v1 API, the token from the login, errors in plain words.

const TOKEN_KEY = "videolens.token";
const ROLES = ["viewer", "operator", "admin"];

export class ApiError extends Error {
  constructor(status, problem) {
    super(plainWords(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

/** What a person reads for an API error: the status in words, then the server's own detail. */
export function plainWords(status, problem = {}) {
  const detail = (problem && (problem.detail || problem.title)) || "";
  const lead = {
    400: "The request was not accepted",
    401: "You are not signed in, or your token is wrong, expired or revoked",
    403: "Your role does not allow this",
    404: "Not found",
    409: "This conflicts with the current state",
    413: "The file is too large",
    415: "This kind of file is not supported",
    422: "Some fields are not valid",
    429: "Too many attempts; wait a moment and try again",
    507: "The server's disk is full",
  }[status] || (status >= 500 ? "The server failed to do this" : `The request failed (${status})`);
  return detail ? `${lead}: ${detail}` : `${lead}.`;
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY) || ""; },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  identity: null,
  /** Whether the signed-in role includes `role` (viewer < operator < admin). */
  can(role) {
    if (!this.identity) return false;
    return ROLES.indexOf(this.identity.role) >= ROLES.indexOf(role);
  },
};

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  return headers;
}

async function problemOf(response) {
  try { return await response.json(); } catch { return {}; }
}

/** fetch() a /v1 path; JSON bodies go as JSON, Blob/FormData as they are. Returns parsed JSON or null. */
export async function api(path, { method = "GET", body, headers = {}, raw = false, signal } = {}) {
  const init = { method, headers: authHeaders(headers), signal };
  if (body instanceof Blob || body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/** A URL a <video>/<a> can load without a header: a signed URL in secure mode, the path in dev mode. */
export async function playable(path) {
  if (!session.token) return path;
  const { url } = await api("/v1/signed-urls", { method: "POST", body: { path, expires_in: 3600 } });
  return new URL(url).pathname + new URL(url).search; // same origin, whatever host name the server saw
}

/** Upload with progress (fetch has no upload progress): XMLHttpRequest, resolves with parsed JSON. */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let doc = {};
      try { doc = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(doc);
      else reject(new ApiError(xhr.status, doc));
    };
    xhr.onerror = () => reject(new ApiError(0, { detail: "the connection to the server failed" }));
    xhr.send(form);
  });
}

/** A blob: URL for a route that takes no signed URL (e.g. sighting thumbnails): fetched with the header. */
export async function blobUrl(path) {
  const response = await api(path, { raw: true });
  return URL.createObjectURL(await response.blob());
}
