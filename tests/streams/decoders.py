"""The three decoders the decode matrix reads every output with: FFmpeg, OpenCV and headless Chromium."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2

from tests.streams.browser import Chromium

HLS_JS = Path(__file__).parent / "web" / "node_modules" / "hls.js" / "dist" / "hls.min.js"

#: FFmpeg's Matroska demuxer says this at each document of a GetMedia body (it reads on regardless)
_BENIGN = ("Found unknown-length element with ID 0x18538067",)


def ffmpeg_frames(source: str, allow: tuple[str, ...] = ()) -> list[float]:
    """Presentation times (s) of the video frames FFmpeg decodes; a complaint not in `allow` fails."""
    cmd = [
        "ffprobe",
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=best_effort_timestamp_time",
    ]
    run = subprocess.run([*cmd, "-of", "csv=p=0", source], capture_output=True, text=True, timeout=60)
    benign = _BENIGN + allow
    complaints = [line for line in run.stderr.splitlines() if line and not any(b in line for b in benign)]
    assert run.returncode == 0 and not complaints, f"ffprobe on {source}: {complaints or run.returncode}"
    return [float(line.strip(",")) for line in run.stdout.split()]


@dataclass(frozen=True)
class OpenCvRead:
    times: list[float]  # CAP_PROP_POS_MSEC / 1000 of each frame read
    declared: float  # CAP_PROP_FRAME_COUNT
    size: tuple[int, int]


def opencv_frames(source: str) -> OpenCvRead:
    """Read with cv2.VideoCapture until it stops, the way consumers do."""
    capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG)
    assert capture.isOpened(), f"OpenCV cannot open {source}"
    declared = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    times: list[float] = []
    size = (0, 0)
    while True:
        ok, image = capture.read()
        if not ok:
            break
        size = (image.shape[1], image.shape[0])
        times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000)
    capture.release()
    return OpenCvRead(times, declared, size)


_PAGE = """<!doctype html><html><body><script src="{hls}"></script><script>
window.decode = (url, hls) => new Promise((resolve) => {{
  const v = document.createElement('video');
  v.muted = true; v.preload = 'auto';
  const times = []; let done = false; let player = null;
  const finish = (error) => {{
    if (done) return; done = true;
    const q = v.getVideoPlaybackQuality();
    resolve({{error, total: q.totalVideoFrames, w: v.videoWidth, h: v.videoHeight, times}});
    if (player) player.destroy(); v.remove();
  }};
  const onFrame = (_now, meta) => {{ times.push(meta.mediaTime); v.requestVideoFrameCallback(onFrame); }};
  v.requestVideoFrameCallback(onFrame);
  v.onended = () => finish(null);
  v.onerror = () => finish('media error ' + (v.error ? v.error.code + ' ' + v.error.message : ''));
  // hls.js re-decodes after a stall, which a 16x playback under load can cause: HLS plays at 2x
  v.oncanplay = () => {{ v.playbackRate = hls ? 2 : 16; v.play(); }};
  document.body.appendChild(v);
  if (hls) {{
    player = new Hls();
    player.on(Hls.Events.ERROR, (_e, data) => {{ if (data.fatal) finish('hls ' + data.details); }});
    player.loadSource(url); player.attachMedia(v);
  }} else {{ v.src = url; }}
  setTimeout(() => finish('timeout'), 25000);
}});
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
window.decodeChunks = async (codec, description, chunks) => {{
  const frames = []; let error = null;
  const decoder = new VideoDecoder({{
    output: (f) => {{ frames.push([f.timestamp, f.displayWidth, f.displayHeight]); f.close(); }},
    error: (e) => {{ error = String(e); }},
  }});
  decoder.configure({{codec, description: bytes(description)}});
  for (const [key, timestamp, data] of chunks) {{
    decoder.decode(new EncodedVideoChunk({{type: key ? 'key' : 'delta', timestamp, data: bytes(data)}}));
  }}
  try {{ await decoder.flush(); }} catch (e) {{ error = error || String(e); }}
  return {{error, frames}};
}};
</script></body></html>"""


@dataclass(frozen=True)
class BrowserRead:
    frames: int  # getVideoPlaybackQuality().totalVideoFrames after the element ended
    size: tuple[int, int]
    first_time: float | None  # mediaTime of the first frame shown (at 16x, frames may go unshown)


class BrowserDecoder:
    """One headless Chromium page that plays a file or an HLS URL to its end at 16x."""

    def __init__(self, profile: Path) -> None:
        assert HLS_JS.is_file(), "hls.js missing: run `make web-deps`"
        self.chromium = Chromium(profile)
        page = profile.parent / "decode.html"
        page.write_text(_PAGE.format(hls=HLS_JS.as_uri()))
        self.chromium.navigate(page.as_uri())
        deadline = time.monotonic() + 15
        while not self.chromium.evaluate("typeof window.decode === 'function' && typeof Hls === 'function'"):
            assert time.monotonic() < deadline, "decode page did not load"
            time.sleep(0.05)

    def read(self, url: str, *, hls: bool = False) -> BrowserRead:
        expression = f"decode({json.dumps(url)}, {json.dumps(hls)})"
        answer: dict[str, Any] = self.chromium.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )["result"]["value"]
        assert answer["error"] is None, f"Chromium on {url}: {answer['error']}"
        times = answer["times"]
        return BrowserRead(answer["total"], (answer["w"], answer["h"]), times[0] if times else None)

    def read_file(self, path: Path) -> BrowserRead:
        return self.read(path.resolve().as_uri())

    def decode_matroska(self, path: Path) -> list[tuple[float, tuple[int, int]]]:
        """Chromium's H.264 decoder (WebCodecs) on the video frames of a Matroska body, as a JavaScript
        GetMedia player does it: demuxed outside (here by PyAV), decoded by the browser.

        A <video> element cannot play a GetMedia body as a file: its times are epoch milliseconds
        (producer time, as KVS sends them) and it has no duration, so Chromium waits ~56 years.
        """
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            avcc = bytes(stream.codec_context.extradata or b"")
            codec = f"avc1.{avcc[1]:02x}{avcc[2]:02x}{avcc[3]:02x}"
            chunks = [
                [p.is_keyframe, int(p.pts * p.time_base * 1_000_000), base64.b64encode(bytes(p)).decode()]
                for p in container.demux(stream)
                if p.size and p.pts is not None and p.time_base is not None
            ]
        expression = f"decodeChunks({json.dumps(codec)}, {json.dumps(base64.b64encode(avcc).decode())}, "
        expression += f"{json.dumps(chunks)})"
        answer: dict[str, Any] = self.chromium.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )["result"]["value"]
        assert answer["error"] is None, f"Chromium WebCodecs on {path}: {answer['error']}"
        return [(t / 1_000_000, (w, h)) for t, w, h in answer["frames"]]

    def close(self) -> None:
        self.chromium.close()
