"""The issue's boto3 flow with ffmpeg pushing a real clip: IDLE → RUNNING, HLS plays in Chromium (hls.js)
and decodes, stop leaves a complete VOD playlist in the bucket, the input is recorded as fragments."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import av
import httpx

from tests.channels.conftest import client, make_channel, push, wait_state, wait_until
from tests.conftest import RunningServer
from tests.streams.browser import Chromium
from tests.streams.test_hls_browser import HLS_JS, play, wait_for_playback

PUSH_S = 10  # the whole clip: 275 frames at 29.97 fps
CLIP_FRAMES = 275


def _segments(playlist: str) -> list[tuple[float, str]]:
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", playlist)]
    uris = [ln for ln in playlist.splitlines() if ln and not ln.startswith("#")]
    return list(zip(durations, uris, strict=True))


def _decode(chunks: list[bytes]) -> list[tuple[int, int]]:
    """Every frame's size when the segments are played back to back (as a player appends them)."""
    with av.open(io.BytesIO(b"".join(chunks)), format="mpegts") as c:
        return [(f.width, f.height) for f in c.decode(video=0)]


def test_boto3_flow_push_play_stop_record(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket="broadcasts")
    cid, url = make_channel(
        medialive,
        "broadcasts",
        "alice",
        renditions=[("_360p", 640, 360, 900_000), ("_180p", 320, 180, 300_000)],
    )
    port = live_server.container.channels.rtmp_port
    assert url.startswith(f"rtmp://127.0.0.1:{port}/live/alice/") and len(url.rsplit("/", 1)[1]) >= 20
    idle = [c for c in medialive.list_channels()["Channels"] if c["State"] == "IDLE"]
    assert [c["Id"] for c in idle] == [cid]
    inp = medialive.describe_input(
        InputId=medialive.describe_channel(ChannelId=cid)["InputAttachments"][0]["InputId"]
    )
    assert inp["State"] == "ATTACHED" and inp["AttachedChannels"] == [cid]

    assert medialive.start_channel(ChannelId=cid)["State"] == "STARTING"
    wait_state(medialive, cid, "RUNNING")
    browser = Chromium(tmp_path / "profile")  # started first: it takes seconds on a loaded machine
    pusher = push(hamilton_clip, url, PUSH_S)
    try:
        hls_url = httpx.get(f"{live_server.url}/v1/channels/{cid}").json()["hls_url"]
        try:
            wait_until(lambda: httpx.get(hls_url).status_code == 200, what="the live master playlist")
        except AssertionError:
            pusher.kill()
            print(
                "DEBUG",
                pusher.stderr.read() if pusher.stderr else "",
                live_server.container.channels.refusals,
                live_server.container.channels.stats(cid),
                pusher.returncode,
            )
            raise
        live = s3.get_object(Bucket="broadcasts", Key="live/alice_360p.m3u8")["Body"].read().decode()
        assert "#EXT-X-ENDLIST" not in live
        assert HLS_JS.is_file()
        play(browser, tmp_path, hls_url)
        state = wait_for_playback(browser, 1.5, timeout=30)
        assert (state["w"], state["h"]) in ((640, 360), (320, 180))
    finally:
        browser.close()
    assert pusher.wait(30) == 0, pusher.stderr.read() if pusher.stderr else ""
    stats = live_server.container.channels.stats(cid)
    assert stats is not None
    # a stop ends the input at once: wait until the decoder has given every pushed frame
    wait_until(lambda: stats.frames_in >= CLIP_FRAMES, what="every pushed frame decoded")

    assert medialive.stop_channel(ChannelId=cid)["State"] == "STOPPING"
    wait_state(medialive, cid, "IDLE")

    master = s3.get_object(Bucket="broadcasts", Key="live/alice.m3u8")["Body"].read().decode()
    assert "alice_360p.m3u8" in master and "RESOLUTION=320x180" in master
    for modifier, size in (("_360p", (640, 360)), ("_180p", (320, 180))):
        vod = s3.get_object(Bucket="broadcasts", Key=f"live/alice{modifier}.m3u8")["Body"].read().decode()
        assert vod.rstrip().endswith("#EXT-X-ENDLIST") and "#EXT-X-PLAYLIST-TYPE:VOD" in vod
        segments = _segments(vod)
        assert [u for _d, u in segments] == [
            f"alice{modifier}_{i:05d}.ts" for i in range(1, len(segments) + 1)
        ]
        total = sum(d for d, _u in segments)
        assert abs(total - CLIP_FRAMES / 29.97) < 0.01, total
        chunks = [s3.get_object(Bucket="broadcasts", Key=f"live/{u}")["Body"].read() for _d, u in segments]
        frames = _decode(chunks)
        assert set(frames) == {size}
        assert len(frames) == CLIP_FRAMES  # none lost when the pusher disconnects

    archived = client(live_server, "kinesis-video-archived-media")
    fragments = archived.list_fragments(StreamName=f"medialive-{cid}")["Fragments"]
    assert len(fragments) >= 2
    assert sum(f["FragmentLengthInMilliseconds"] for f in fragments) >= 7000
