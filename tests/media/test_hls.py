"""HLS playlists and MPEG-TS segments remuxed from fragments."""

from __future__ import annotations

import io

import av
import pytest

from videolens.media import hls
from videolens.media.mkv_fragmenter import Fragment


def test_media_playlist_live_and_on_demand() -> None:
    segments = [hls.Segment("seg?n=1", 2.002), hls.Segment("seg?n=2", 1.435, discontinuity=True)]
    live = hls.media_playlist(segments, media_sequence=7, ended=False)
    assert live == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:7\n"
        "#EXTINF:2.002,\nseg?n=1\n#EXT-X-DISCONTINUITY\n#EXTINF:1.435,\nseg?n=2\n"
    )
    vod = hls.media_playlist(segments, media_sequence=0, ended=True, playlist_type="VOD", map_uri="init.mp4")
    assert vod.splitlines()[1] == "#EXT-X-VERSION:7"
    assert '#EXT-X-MAP:URI="init.mp4"' in vod and "#EXT-X-PLAYLIST-TYPE:VOD" in vod
    assert vod.endswith("#EXT-X-ENDLIST\n")


def test_master_playlist() -> None:
    text = hls.master_playlist("media.m3u8?t=x", bandwidth=800_000, width=640, height=360)
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360",
        "media.m3u8?t=x",
    ]


def test_fragment_to_ts(hamilton_fragments: list[Fragment]) -> None:
    fragment = hamilton_fragments[1]
    data = hls.fragment_to_ts(fragment.to_bytes(), offset_s=0.844)
    assert data[0] == 0x47 and len(data) % 188 == 0
    with av.open(io.BytesIO(data)) as container:
        assert container.format.name == "mpegts"
        frames = [f for f in container.decode(video=0)]
    assert len(frames) == 60
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert float(frames[0].pts * frames[0].time_base) == pytest.approx((2846 - 844) / 1000, abs=0.002)
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for _ in container.decode(audio=0)) > 0
