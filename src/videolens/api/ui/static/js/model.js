// What the pages compute from API answers: pure functions (no DOM), unit-tested with `node --test`.

/** Faces grouped per person: {name -> [face]} (faces without an external id under "(no name)"). */
export function byPerson(faces) {
  const people = new Map();
  for (const f of faces) {
    const name = f.external_image_id || "(no name)";
    if (!people.has(name)) people.set(name, []);
    people.get(name).push(f);
  }
  return new Map([...people.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}

/** The faces of a results page as marks on a timeline (percent of the video's duration). */
export function timelineMarks(items, durationMs) {
  const span = Math.max(1, durationMs || Math.max(1, ...items.map((i) => i.timestamp_ms || 0)));
  return items.map((i) => ({
    left: Math.min(100, (100 * (i.timestamp_ms || 0)) / span),
    label: i.matches && i.matches.length ? (i.matches[0].face || {}).external_image_id || "match" : "face",
  }));
}

/** Fragments as timeline segments: left/width in percent of [first start, last end]. */
export function timeline(fragments) {
  if (!fragments.length) return { start: 0, end: 0, segments: [] };
  const start = fragments[0].producer_timestamp;
  const last = fragments[fragments.length - 1];
  const end = last.producer_timestamp + last.duration_ms / 1000;
  const span = Math.max(0.001, end - start);
  return {
    start, end,
    segments: fragments.map((f) => ({
      left: (100 * (f.producer_timestamp - start)) / span,
      width: Math.max(0.2, (100 * f.duration_ms) / 1000 / span),
      fragment: f,
    })),
  };
}

/** Activity per fragment from processor records: {fragmentNumber -> Set of names ("unknown" if none)}. */
export function activityOf(records) {
  const marks = new Map();
  for (const r of records) {
    const kv = r.InputInformation && r.InputInformation.KinesisVideo;
    const faces = r.FaceSearchResponse || [];
    if (!kv || !faces.length) continue;
    if (!marks.has(kv.FragmentNumber)) marks.set(kv.FragmentNumber, new Set());
    for (const f of faces) {
      const best = (f.MatchedFaces || [])[0];
      marks.get(kv.FragmentNumber).add(best ? best.Face.ExternalImageId || best.Face.FaceId : "unknown");
    }
  }
  return marks;
}

/** The body of POST /v1/processors from the form's values (face search into a data stream). */
export function processorBody({ name, streamArn, collection, dataStreamArn, threshold }) {
  const settings = { FaceSearch: { CollectionId: collection } };
  if (threshold !== "" && threshold !== undefined) settings.FaceSearch.FaceMatchThreshold = Number(threshold);
  return {
    name,
    input: { KinesisVideoStream: { Arn: streamArn } },
    output: { KinesisDataStream: { Arn: dataStreamArn } },
    settings,
    lag_policy: "live",
  };
}

/** The stream name in a KVS stream ARN (arn:aws:kinesisvideo:region:account:stream/NAME/creation). */
export function streamOfArn(arn) {
  const m = /:stream\/([^/]+)\//.exec(arn || "");
  return m ? m[1] : null;
}
