// Unit tests of the overlay logic (run by tests/ui/test_js_units.py with `node --test`).
import assert from "node:assert/strict";
import { test } from "node:test";
import { boxesOf, containRect, fragmentOfUrl, playheadPosition, RecordBuffer } from "../../../src/videolens/api/ui/static/js/overlay.js";

const record = (fragment, offset, faces = []) => ({
  InputInformation: { KinesisVideo: { FragmentNumber: fragment, FrameOffsetInSeconds: offset, ProducerTimestamp: 100 } },
  FaceSearchResponse: faces,
});
const face = (name, similarity) => ({
  DetectedFace: { BoundingBox: { Left: 0.25, Top: 0.5, Width: 0.1, Height: 0.2 } },
  MatchedFaces: name ? [{ Similarity: similarity, Face: { ExternalImageId: name, FaceId: "f1" } }] : [],
});

test("the fragment number comes out of a segment URL", () => {
  assert.equal(fragmentOfUrl("/hls/v1/getTSFragment.ts?SessionToken=a.b&FragmentNumber=91343852333181432392682062"), "91343852333181432392682062");
  assert.equal(fragmentOfUrl("/hls/v1/other.ts"), null);
});

test("the playhead is located in the fragment that holds it", () => {
  const frags = [
    { start: 0, duration: 1, url: "x?FragmentNumber=10" },
    { start: 1, duration: 1, url: "x?FragmentNumber=11" },
  ];
  assert.deepEqual(playheadPosition(frags, 1.25), { fragment: "11", offset: 0.25 });
  assert.equal(playheadPosition(frags, 2.0), null);
  assert.equal(playheadPosition([], 0), null);
});

test("the nearest record within the window is picked, none beyond it", () => {
  const buffer = new RecordBuffer(2);
  assert.equal(buffer.add({ nope: 1 }), false);
  buffer.add(record("10", 0.4));
  buffer.add(record("10", 0.0));
  buffer.add(record("10", 0.2));
  assert.equal(buffer.at("10", 0.27).InputInformation.KinesisVideo.FrameOffsetInSeconds, 0.2);
  assert.equal(buffer.at("10", 0.9), null);
  assert.equal(buffer.at("11", 0.0), null);
  buffer.add(record("11", 0));
  buffer.add(record("12", 0));
  assert.equal(buffer.at("10", 0.2), null, "the oldest fragment is dropped past the bound");
  assert.equal(buffer.byFragment.size, 2);
});

test("boxes are scaled to the picture and labelled with name and similarity", () => {
  const [matched, unknown] = boxesOf(record("1", 0, [face("obama", 99.123), face(null)]), 640, 360);
  assert.deepEqual(matched, { x: 160, y: 180, w: 64, h: 72, label: "obama 99.1%", matched: true, name: "obama" });
  assert.equal(unknown.label, "unknown");
  assert.equal(unknown.matched, false);
});

test("a 16:9 video in a square box is letterboxed", () => {
  assert.deepEqual(containRect(1600, 900, 800, 800), { x: 0, y: 175, w: 800, h: 450 });
  assert.deepEqual(containRect(0, 0, 10, 20), { x: 0, y: 0, w: 10, h: 20 });
});
