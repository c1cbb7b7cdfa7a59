"""The RTMP door: pushes from outside the security group or with a wrong key are refused and logged;
a pusher that disconnects and comes back continues the same output after a discontinuity."""

from __future__ import annotations

import io
import logging
import subprocess
from pathlib import Path
from typing import Any

import av
import pytest

from tests.channels.conftest import make_channel, push, wait_state, wait_until
from tests.conftest import RunningServer


def _refusals(server: RunningServer, path: str) -> list[str]:
    return [r.reason for r in server.container.channels.refusals if r.path == path]


def test_push_from_outside_the_security_group_is_refused(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s3.create_bucket(Bucket="door1")
    cid, url = make_channel(medialive, "door1", "carol", cidr="10.0.0.0/8")  # the pusher is 127.0.0.1
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    with caplog.at_level(logging.WARNING, logger="videolens.services.channels.rtmp_gate"):
        pusher = push(hamilton_clip, url, 2)
        assert pusher.wait(30) != 0
    assert _refusals(live_server, "live/carol") == ["address outside the input security groups"]
    assert any(
        "refused from 127.0.0.1" in r.getMessage() and "live/carol" in r.getMessage() for r in caplog.records
    )
    assert live_server.container.channels.stats(cid).connections == 0  # type: ignore[union-attr]
    # the operator widens the group: the same URL now gets in
    sg = medialive.describe_input(
        InputId=medialive.describe_channel(ChannelId=cid)["InputAttachments"][0]["InputId"]
    )["SecurityGroups"][0]
    medialive.update_input_security_group(InputSecurityGroupId=sg, WhitelistRules=[{"Cidr": "127.0.0.1/32"}])
    assert push(hamilton_clip, url, 2).wait(30) == 0
    assert live_server.container.channels.stats(cid).connections == 1  # type: ignore[union-attr]
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")


def test_wrong_stream_key_is_refused(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s3.create_bucket(Bucket="door2")
    cid, url = make_channel(medialive, "door2", "dave")
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    base, key = url.rsplit("/", 1)
    with caplog.at_level(logging.WARNING, logger="videolens.services.channels.rtmp_gate"):
        for wrong in (base + "/" + key[:-1] + ("A" if key[-1] != "A" else "B"), base + "/guess"):
            assert push(hamilton_clip, wrong, 2).wait(30) != 0
        # no key at all (ffmpeg then names "dave" the stream under app "live"): unknown stream name
        assert push(hamilton_clip, base, 2).wait(30) != 0
    assert _refusals(live_server, "live/dave") == ["wrong stream key", "wrong stream key"]
    assert _refusals(live_server, "live") == ["no input has this stream name"]
    assert all(key not in r.getMessage() for r in caplog.records)  # the secret is never logged
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")
    assert live_server.container.channels.refusals  # kept for operators
    assert s3.list_objects_v2(Bucket="door2").get("KeyCount", 0) == 0  # nothing got through


def _pushed_frames(source: Path, seconds: float, tmp_path: Path) -> tuple[int, float]:
    """(frames, frame rate) of what the same ffmpeg command sends (it stops copying at the GOP boundary
    after -t)."""
    out = tmp_path / "pushed.flv"
    cmd = ["ffmpeg", "-v", "error", "-y", "-t", str(seconds), "-i", str(source), "-c", "copy", str(out)]
    subprocess.run(cmd, check=True)
    with av.open(str(out)) as c:
        return sum(1 for _ in c.decode(video=0)), float(c.streams.video[0].average_rate or 30)


def _pushed_seconds(source: Path, seconds: float, tmp_path: Path) -> float:
    frames, fps = _pushed_frames(source, seconds, tmp_path)
    return frames / fps


def _output_frames(s3: Any, bucket: str, vod: str) -> int:
    uris = [ln for ln in vod.splitlines() if ln and not ln.startswith("#")]
    data = b"".join(s3.get_object(Bucket=bucket, Key=f"live/{u}")["Body"].read() for u in uris)
    with av.open(io.BytesIO(data), format="mpegts") as c:
        return sum(1 for _ in c.decode(video=0))


def test_pusher_reconnects_after_a_discontinuity(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket="door3")
    cid, url = make_channel(medialive, "door3", "erin")
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    assert push(hamilton_clip, url, 3).wait(30) == 0
    stats = live_server.container.channels.stats(cid)
    assert stats is not None
    wait_until(lambda: stats.segments >= 3, what="first connection's segments")
    assert push(hamilton_clip, url, 3).wait(30) == 0
    wait_until(lambda: stats.connections == 2 and stats.discontinuities == 1, what="the second connection")
    assert medialive.describe_channel(ChannelId=cid)["State"] == "RUNNING"
    pushed, fps = _pushed_frames(hamilton_clip, 3, tmp_path)
    # a stop ends the input at once: wait until the decoder has given every pushed frame
    wait_until(lambda: stats.frames_in >= 2 * pushed, what="every pushed frame decoded")
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")
    vod = s3.get_object(Bucket="door3", Key="live/erin_360p.m3u8")["Body"].read().decode()
    lines = vod.splitlines()
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    after = lines.index("#EXT-X-DISCONTINUITY")
    before_count = sum(1 for ln in lines[:after] if ln.startswith("#EXTINF"))
    after_count = sum(1 for ln in lines[after:] if ln.startswith("#EXTINF"))
    assert before_count >= 2 and after_count >= 2
    total = sum(float(ln.split(":")[1].rstrip(",")) for ln in lines if ln.startswith("#EXTINF"))
    # no frame lost at either disconnect: the decoder and the look-ahead are flushed
    assert _output_frames(s3, "door3", vod) == 2 * pushed == stats.frames_in, stats
    assert abs(total - 2 * pushed / fps) < 0.005, (total, stats)  # EXTINF has 3 decimals per segment


def test_over_the_latency_budget_the_frame_rate_halves(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, tmp_path: Path
) -> None:
    settings = live_server.container.settings
    budget = settings.channels_latency_budget_s
    settings.channels_latency_budget_s = 0.0  # any lag at all is over budget
    try:
        s3.create_bucket(Bucket="door4")
        cid, url = make_channel(medialive, "door4", "ivan")
        medialive.start_channel(ChannelId=cid)
        wait_state(medialive, cid, "RUNNING")
    finally:
        settings.channels_latency_budget_s = budget
    assert push(hamilton_clip, url, 3).wait(30) == 0
    stats = live_server.container.channels.stats(cid)
    assert stats is not None
    wait_until(lambda: stats.connections == 1 and stats.segments >= 2, what="segments")
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")
    vod = s3.get_object(Bucket="door4", Key="live/ivan_360p.m3u8")["Body"].read().decode()
    frames = _output_frames(s3, "door4", vod)
    assert stats.frames_dropped > 0.3 * stats.frames_in
    assert frames == stats.frames_in - stats.frames_dropped
    total = sum(float(ln.split(":")[1].rstrip(",")) for ln in vod.splitlines() if ln.startswith("#EXTINF"))
    assert abs(total - _pushed_seconds(hamilton_clip, 3, tmp_path)) < 0.3  # time runs on, fewer frames
