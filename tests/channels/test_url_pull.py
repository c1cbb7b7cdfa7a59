"""A URL_PULL input: the channel pulls an RTSP camera (gst-rtsp-server), encodes HLS and records it."""

from __future__ import annotations

import time
from typing import Any

from tests.channels.conftest import client, hls_encoder_settings, wait_state, wait_until
from tests.conftest import RunningServer, free_port
from tests.streams.test_rtsp_pull import Camera


def test_url_pull_from_an_rtsp_camera(live_server: RunningServer, medialive: Any, s3: Any) -> None:
    camera = Camera(free_port())
    camera.start()
    try:
        s3.create_bucket(Bucket="pulled")
        inp = medialive.create_input(Name="cam", Type="URL_PULL", Sources=[{"Url": camera.url}])["Input"]
        assert (inp["Type"], inp["Sources"], inp["Destinations"]) == ("URL_PULL", [{"Url": camera.url}], [])
        cid = medialive.create_channel(
            Name="cam",
            InputAttachments=[{"InputId": inp["Id"]}],
            Destinations=[{"Id": "dest", "Settings": [{"Url": "s3://pulled/cams/door"}]}],
            EncoderSettings=hls_encoder_settings([("_240p", None, None, 500_000)]),
        )["Channel"]["Id"]
        wait_state(medialive, cid, "IDLE")
        medialive.start_channel(ChannelId=cid)
        wait_state(medialive, cid, "RUNNING")
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
