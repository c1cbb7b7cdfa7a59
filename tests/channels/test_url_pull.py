"""A URL_PULL input: the channel pulls an RTSP camera (gst-rtsp-server), encodes HLS and records it."""

from __future__ import annotations

import time
from typing import Any

from tests.channels.conftest import client, start_pull_channel, wait_state, wait_until
from tests.conftest import RunningServer, free_port
from tests.streams.test_rtsp_pull import Camera


def test_url_pull_from_an_rtsp_camera(live_server: RunningServer, medialive: Any, s3: Any) -> None:
    camera = Camera(free_port())
    camera.start()
    try:
        s3.create_bucket(Bucket="pulled")
        cid = start_pull_channel(medialive, "cam", camera.url, "s3://pulled/cams/door", ("_240p", 500_000))
        stats = live_server.container.channels.stats(cid)
        assert stats is not None
        wait_until(lambda: stats.segments >= 3, timeout=30, what="segments from the camera")
        time.sleep(0.2)
        medialive.stop_channel(ChannelId=cid)
        wait_state(medialive, cid, "IDLE")
    finally:
        camera.kill()
    vod = s3.get_object(Bucket="pulled", Key="cams/door_240p.m3u8")["Body"].read().decode()
    assert vod.rstrip().endswith("#EXT-X-ENDLIST") and vod.count("#EXTINF") >= 3
    archived = client(live_server, "kinesis-video-archived-media")
    assert archived.list_fragments(StreamName=f"medialive-{cid}")["Fragments"]
