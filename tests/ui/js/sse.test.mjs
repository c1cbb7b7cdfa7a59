// Unit tests of the SSE parser and of the API error wording.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSSE } from "../../../src/videolens/api/ui/static/js/sse.js";
import { plainWords } from "../../../src/videolens/api/ui/static/js/api.js";

test("events split across chunks come out whole", () => {
  const state = {};
  assert.deepEqual(parseSSE(state, "retry: 1500\n\nevent: job\nid: 7\nda"), []);
  assert.equal(state.retry, 1500);
  assert.deepEqual(parseSSE(state, 'ta: {"a":1}\n\n: keep-alive\n\ndata: x\r\ndata: y\r\n\r\n'), [
    { event: "job", data: '{"a":1}', id: "7" },
    { event: "message", data: "x\ny", id: null },
  ]);
  assert.equal(state.buffer, "");
});

test("a field without a value and comments are handled like EventSource does", () => {
  const state = {};
  assert.deepEqual(parseSSE(state, "event\ndata\n\n"), [{ event: "message", data: "", id: null }]);
  assert.deepEqual(parseSSE(state, ":only a comment\n\n"), []);
});

test("API errors read as plain words with the server's detail", () => {
  assert.equal(plainWords(403, { detail: "this needs the operator role" }),
    "Your role does not allow this: this needs the operator role");
  assert.equal(plainWords(401, {}), "You are not signed in, or your token is wrong, expired or revoked.");
  assert.equal(plainWords(503, {}), "The server failed to do this.");
  assert.equal(plainWords(418), "The request failed (418).");
});
