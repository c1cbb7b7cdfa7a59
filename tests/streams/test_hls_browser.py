"""HLS from GetHLSStreamingSessionURL plays in headless Chromium with hls.js (time advances, right size)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.streams.browser import Chromium
from tests.streams.conftest import Kvs, WaitUntil
from videolens.producer import realtime_chunks

HLS_JS = Path(__file__).parent / "web" / "node_modules" / "hls.js" / "dist" / "hls.min.js"

PAGE = """<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="{hls}"></script>
<script>
  window.errors = [];
  const video = document.getElementById("v");
  const hls = new Hls({{ liveSyncDurationCount: 2 }});
  hls.on(Hls.Events.ERROR, (_e, data) => {{ if (data.fatal) window.errors.push(data.details); }});
  hls.loadSource({url});
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
</script></body></html>"""


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    assert HLS_JS.is_file(), "hls.js missing: run `make web-deps`"
    browser = Chromium(tmp_path / "profile")
    yield browser
    browser.close()


def play(chromium: Chromium, tmp_path: Path, url: str) -> None:
    page = tmp_path / "player.html"
    page.write_text(PAGE.format(hls=HLS_JS.as_uri(), url=json.dumps(url)))
    chromium.navigate(page.as_uri())


def video_state(chromium: Chromium) -> dict[str, Any]:
    state: dict[str, Any] = chromium.evaluate(
        "(() => { const v = document.getElementById('v');"
        " if (!v) return {t: 0, w: 0, h: 0, errors: []};"
        " return {t: v.currentTime, w: v.videoWidth, h: v.videoHeight, errors: window.errors || []}; })()"
    )
    return state


def wait_for_playback(chromium: Chromium, past_s: float, timeout: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state = video_state(chromium)
    while time.monotonic() < deadline:
        state = video_state(chromium)
        assert not state["errors"], state
        if state["t"] > past_s:
            return state
        time.sleep(0.2)
    raise AssertionError(f"playback did not get past {past_s} s: {state}")


def test_on_demand_plays(kvs: Kvs, hamilton_mkv: bytes, chromium: Chromium, tmp_path: Path) -> None:
    kvs.create("hls-vod")
    kvs.put("hls-vod", hamilton_mkv)
    fragments = kvs.fragments("hls-vod")
    archived = kvs.data_client("kinesis-video-archived-media", "hls-vod", "GET_HLS_STREAMING_SESSION_URL")
    url = archived.get_hls_streaming_session_url(
        StreamName="hls-vod",
        PlaybackMode="ON_DEMAND",
        HLSFragmentSelector={
            "FragmentSelectorType": "SERVER_TIMESTAMP",
            "TimestampRange": {
                "StartTimestamp": fragments[0]["ServerTimestamp"],
                "EndTimestamp": fragments[-1]["ServerTimestamp"],
            },
        },
    )["HLSStreamingSessionURL"]
    play(chromium, tmp_path, url)
    first = wait_for_playback(chromium, 1.0)
    assert (first["w"], first["h"]) == (640, 360)
    later = wait_for_playback(chromium, first["t"] + 1.5)
    assert later["t"] > first["t"]


def test_live_plays_while_ingesting(
    kvs: Kvs, hamilton_mkv: bytes, chromium: Chromium, tmp_path: Path, wait_until: WaitUntil
) -> None:
    kvs.create("hls-live")
    stop = threading.Event()

    def camera() -> None:
        # a camera that keeps streaming (the clip again and again, one producer session each) until told
        while not stop.is_set():
            chunks = itertools.takewhile(lambda _c: not stop.is_set(), realtime_chunks(hamilton_mkv))
            kvs.put("hls-live", b"", chunks=chunks)

    producer = threading.Thread(target=camera, daemon=True)
    producer.start()
    wait_until(lambda: len(kvs.container.streams.index.after_seq(1, -1)) >= 2, timeout=15)
    archived = kvs.data_client("kinesis-video-archived-media", "hls-live", "GET_HLS_STREAMING_SESSION_URL")
    url = archived.get_hls_streaming_session_url(StreamName="hls-live", PlaybackMode="LIVE")[
        "HLSStreamingSessionURL"
    ]
    play(chromium, tmp_path, url)
    first = wait_for_playback(chromium, 0.5, timeout=30)
    assert (first["w"], first["h"]) == (640, 360)
    later = wait_for_playback(chromium, first["t"] + 3.0, timeout=30)
    assert later["t"] > first["t"]
    stop.set()
    producer.join(20)
    assert not producer.is_alive()
