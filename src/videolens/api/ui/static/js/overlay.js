// Overlays on live video: which processor record belongs to the frame on screen, and where to draw it.
// Pure functions (no DOM), unit-tested with `node --test` (tests/ui/js/).

/** How far (s) a record's frame may be from the frame on screen and still be drawn on it. */
export const MATCH_WINDOW_S = 0.25;

/** The fragment number in an HLS segment URL (getTSFragment.ts?...&FragmentNumber=N). */
export function fragmentOfUrl(url) {
  const m = /[?&]FragmentNumber=(\d+)/.exec(url || "");
  return m ? m[1] : null;
}

/** Where the playhead is: the fragment (by number) and the offset into it, from hls.js fragments. */
export function playheadPosition(fragments, currentTime) {
  for (const f of fragments || []) {
    if (currentTime >= f.start && currentTime < f.start + f.duration) {
      const number = fragmentOfUrl(f.url);
      if (number) return { fragment: number, offset: currentTime - f.start };
    }
  }
  return null;
}

/** Keeps the latest records per fragment (bounded), looked up by the frame on screen. */
export class RecordBuffer {
  constructor(maxFragments = 30) {
    this.maxFragments = maxFragments;
    this.byFragment = new Map();
  }

  add(record) {
    const kv = record && record.InputInformation && record.InputInformation.KinesisVideo;
    if (!kv || !kv.FragmentNumber) return false;
    let list = this.byFragment.get(kv.FragmentNumber);
    if (!list) {
      list = [];
      this.byFragment.set(kv.FragmentNumber, list);
      while (this.byFragment.size > this.maxFragments) this.byFragment.delete(this.byFragment.keys().next().value);
    }
    list.push(record);
    list.sort((a, b) => offsetOf(a) - offsetOf(b));
    return true;
  }

  /** The record nearest to (fragment, offset) within MATCH_WINDOW_S, or null. */
  at(fragment, offset, window = MATCH_WINDOW_S) {
    const list = this.byFragment.get(fragment);
    if (!list) return null;
    let best = null;
    for (const r of list) {
      const d = Math.abs(offsetOf(r) - offset);
      if (d <= window && (!best || d < best.d)) best = { r, d };
    }
    return best ? best.r : null;
  }
}

export function offsetOf(record) {
  return Number(record.InputInformation.KinesisVideo.FrameOffsetInSeconds || 0);
}

/** The boxes to draw for one record: pixel rectangle in a WxH picture, a label and whether it matched. */
export function boxesOf(record, width, height) {
  return (record.FaceSearchResponse || []).map((face) => {
    const b = face.DetectedFace.BoundingBox;
    const best = (face.MatchedFaces || [])[0];
    const name = best ? (best.Face.ExternalImageId || best.Face.FaceId) : "unknown";
    return {
      x: Math.round(b.Left * width),
      y: Math.round(b.Top * height),
      w: Math.round(b.Width * width),
      h: Math.round(b.Height * height),
      label: best ? `${name} ${best.Similarity.toFixed(1)}%` : "unknown",
      matched: Boolean(best),
      name,
    };
  });
}

/** Where a video of size (vw, vh) is shown inside a box (bw, bh) with object-fit: contain. */
export function containRect(vw, vh, bw, bh) {
  if (!vw || !vh) return { x: 0, y: 0, w: bw, h: bh };
  const scale = Math.min(bw / vw, bh / vh);
  const w = vw * scale;
  const h = vh * scale;
  return { x: (bw - w) / 2, y: (bh - h) / 2, w, h };
}
