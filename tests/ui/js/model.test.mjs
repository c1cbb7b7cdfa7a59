// Unit tests of what the pages compute from API answers (js/model.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  activityOf, byPerson, processorBody, streamOfArn, timeline, timelineMarks,
} from "../../../src/videolens/api/ui/static/js/model.js";

test("faces are grouped per person, named people sorted, nameless ones together", () => {
  const people = byPerson([
    { face_id: "1", external_image_id: "obama" },
    { face_id: "2", external_image_id: null },
    { face_id: "3", external_image_id: "biden" },
    { face_id: "4", external_image_id: "obama" },
  ]);
  assert.deepEqual([...people.keys()], ["(no name)", "biden", "obama"]);
  assert.deepEqual(people.get("obama").map((f) => f.face_id), ["1", "4"]);
});

test("fragments become segments of the retained span", () => {
  const t = timeline([
    { producer_timestamp: 100, duration_ms: 1000 },
    { producer_timestamp: 101, duration_ms: 1000 },
    { producer_timestamp: 103, duration_ms: 1000 },
  ]);
  assert.equal(t.start, 100);
  assert.equal(t.end, 104);
  assert.deepEqual(t.segments.map((s) => [s.left, s.width]), [[0, 25], [25, 25], [75, 25]]);
  assert.deepEqual(timeline([]), { start: 0, end: 0, segments: [] });
});

test("activity marks name who was seen per fragment, and skip empty looks", () => {
  const rec = (fragment, faces) => ({ InputInformation: { KinesisVideo: { FragmentNumber: fragment } }, FaceSearchResponse: faces });
  const marks = activityOf([
    rec("1", []),
    rec("2", [{ MatchedFaces: [{ Face: { ExternalImageId: "obama" } }] }, { MatchedFaces: [] }]),
    rec("2", [{ MatchedFaces: [{ Face: { ExternalImageId: "obama" } }] }]),
    { raw: "not a record" },
  ]);
  assert.deepEqual([...marks.keys()], ["2"]);
  assert.deepEqual([...marks.get("2")].sort(), ["obama", "unknown"]);
});

test("job results are placed on the video's time line", () => {
  const marks = timelineMarks([{ timestamp_ms: 0 }, { timestamp_ms: 5000 }, { timestamp_ms: 12000 }], 10000);
  assert.deepEqual(marks.map((m) => m.left), [0, 50, 100]);
  assert.equal(timelineMarks([{ timestamp_ms: 400 }], 0)[0].left, 100, "no duration: the last result is the end");
});

test("the processor form becomes the API's body", () => {
  assert.deepEqual(processorBody({ name: "door", streamArn: "vs", collection: "people", dataStreamArn: "ds", threshold: "85" }), {
    name: "door",
    input: { KinesisVideoStream: { Arn: "vs" } },
    output: { KinesisDataStream: { Arn: "ds" } },
    settings: { FaceSearch: { CollectionId: "people", FaceMatchThreshold: 85 } },
    lag_policy: "live",
  });
  assert.deepEqual(processorBody({ name: "d", streamArn: "a", collection: "c", dataStreamArn: "b", threshold: "" }).settings,
    { FaceSearch: { CollectionId: "c" } });
});

test("the stream name comes out of a KVS stream ARN", () => {
  assert.equal(streamOfArn("arn:aws:kinesisvideo:us-east-1:000000000000:stream/lobby/1796130540080"), "lobby");
  assert.equal(streamOfArn("s3://bucket/key"), null);
});
