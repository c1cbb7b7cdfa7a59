"""RTSP push (RTSP_PUSH inputs): ffmpeg publishes over RTSP to the input's URL, the channel's HLS output
decodes; the door refuses (with an RTSP status, logged without the key) a wrong or missing key, an
address outside the security group, a player or another protocol's input; a pusher that goes and comes
back continues the output after a discontinuity."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from tests.channels.conftest import client, make_channel, push, wait_state, wait_until
from tests.conftest import RunningServer
from videolens.cli import app

#: what the pusher sends: H.264 with B-frames (two between references) and AAC audio
WITH_B_FRAMES = [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-bf",
    "2",
    "-g",
    "30",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
]
LOGGER = "videolens.services.channels.rtsp_gate"


def _ok(pusher: subprocess.Popen[bytes]) -> bool:
    """The push ran to its end (ffmpeg's own error otherwise)."""
    code = pusher.wait(60)
    assert code == 0, pusher.stderr.read().decode(errors="replace") if pusher.stderr else code
    return True


def push_rtsp(
    source: Path, url: str, seconds: float, codec: list[str] | None = None, transport: str | None = "tcp"
) -> subprocess.Popen[bytes]:
    """ffmpeg publishing `source` in real time to an RTSP URL (ANNOUNCE / SETUP / RECORD)."""
    return push(source, url, seconds, codec, "rtsp", ["-rtsp_transport", transport] if transport else [])


def _pushed(source: Path, seconds: float, codec: list[str], tmp_path: Path) -> tuple[int, int]:
    """(video frames with B-frames among them, B-frames) of what the same ffmpeg command sends."""
    out = tmp_path / "pushed.mp4"
    cmd = ["ffmpeg", "-v", "error", "-y", "-t", str(seconds), "-i", str(source), *codec, str(out)]
    subprocess.run(cmd, check=True)
    with av.open(str(out)) as c:
        types = [int(f.pict_type) for f in c.decode(video=0)]
    return len(types), types.count(3)  # AV_PICTURE_TYPE_B


def _wait_written(stats: Any, frames: int, what: str) -> None:
    """Until the connection's last segment is out: the channel may still be working through the tail
    after the pusher left (stopping it earlier would cut that tail). A segment's media end counts from
    the connection's first frame; up to 4 frames may be lost at its end (docs/channels.md, "Limits")."""
    try:
        wait_until(
            lambda: stats.segment_times and stats.segment_times[-1][1] >= (frames - 4.5) / 29.97, what=what
        )
    except AssertionError as exc:
        ends = [round(t[1], 3) for t in stats.segment_times]
        seen = (stats.connections, stats.frames_in, stats.frames_dropped, stats.last_error, ends)
        raise AssertionError(
            f"{exc}: pushed {frames} frames; (connections, in, dropped, error, ends) {seen}"
        ) from exc


def _refusals(server: RunningServer, path: str) -> list[str]:
    return [r.reason for r in server.container.channels.refusals if r.path == path]


def _vod(s3: Any, bucket: str, key: str) -> tuple[list[str], list[tuple[float, str]]]:
    playlist = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", playlist)]
    uris = [ln for ln in playlist.splitlines() if ln and not ln.startswith("#")]
    return playlist.splitlines(), list(zip(durations, uris, strict=True))


def _rtsp_status(port: int, request: str) -> str:
    """The first line and CSeq of the door's answer to one raw request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    lines = answer.decode().split("\r\n")
    return f"{lines[0]} | {next(ln for ln in lines if ln.startswith('CSeq'))}"


def test_rtsp_push_input_through_boto3(medialive: Any, live_server: RunningServer) -> None:
    sg = medialive.create_input_security_group(WhitelistRules=[{"Cidr": "127.0.0.0/8"}])["SecurityGroup"][
        "Id"
    ]
    inp = medialive.create_input(
        Name="rtsp", Type="RTSP_PUSH", Destinations=[{"StreamName": "cam/front"}], InputSecurityGroups=[sg]
    )["Input"]
    port = live_server.container.channels.doors.rtsp.port
    assert port not in (0, live_server.container.channels.rtmp_port)
    (destination,) = inp["Destinations"]
    assert destination["Port"] == str(port)
    assert destination["Url"].startswith(f"rtsp://127.0.0.1:{port}/cam/front/")
    assert len(destination["Url"].rsplit("/", 1)[1]) == 24  # 144 random bits
    assert (inp["Type"], inp["State"], inp["InputSourceType"]) == ("RTSP_PUSH", "DETACHED", "STATIC")
    assert medialive.describe_input(InputId=inp["Id"])["Destinations"] == inp["Destinations"]
    # the same validation as RTMP_PUSH: a security group and an app/instance StreamName are required
    for bad in (
        {"Destinations": [{"StreamName": "cam/back"}]},
        {"Destinations": [{"StreamName": "no-slash"}], "InputSecurityGroups": [sg]},
        {"Destinations": [{"StreamName": "cam/front"}], "InputSecurityGroups": [sg]},  # taken
        {"InputSecurityGroups": [sg]},
    ):
        with pytest.raises(ClientError) as err:
            medialive.create_input(Name="bad", Type="RTSP_PUSH", **bad)
        assert err.value.response["Error"]["Code"] == "BadRequestException", bad
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    medialive.delete_input(InputId=inp["Id"])


def test_rtsp_push_with_b_frames_and_audio_plays_as_hls(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket="rtsp1")
    cid, url = make_channel(medialive, "rtsp1", "fay", input_type="RTSP_PUSH")
    inp = medialive.describe_input(
        InputId=medialive.describe_channel(ChannelId=cid)["InputAttachments"][0]["InputId"]
    )
    assert inp["State"] == "ATTACHED" and inp["AttachedChannels"] == [cid]
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    # ffmpeg's default transport: it asks for UDP first, is answered 461 and goes on over TCP
    pusher = push_rtsp(hamilton_clip, url, 4, WITH_B_FRAMES, transport=None)
    frames, b_frames = _pushed(hamilton_clip, 4, WITH_B_FRAMES, tmp_path)
    assert _ok(pusher)
    stats = live_server.container.channels.stats(cid)
    assert stats is not None
    _wait_written(stats, frames, "the push's segments")
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")

    lines, segments = _vod(s3, "rtsp1", "live/fay_360p.m3u8")
    assert lines[-1] == "#EXT-X-ENDLIST" and "#EXT-X-DISCONTINUITY" not in lines
    assert [u for _d, u in segments] == [f"fay_360p_{i:05d}.ts" for i in range(1, len(segments) + 1)]
    data = b"".join(s3.get_object(Bucket="rtsp1", Key=f"live/{u}")["Body"].read() for _d, u in segments)
    with av.open(io.BytesIO(data), format="mpegts") as c:
        sizes = [(f.width, f.height) for f in c.decode(video=0)]
    assert b_frames > frames // 3  # the push really had B-frames
    assert set(sizes) == {(640, 360)}
    # every picture, the first one of the session (RTP leaves it untimed) included; at most the last
    # 2-4 the pusher sent before leaving may be lost (docs/channels.md, "Limits")
    assert 0 <= frames - len(sizes) <= 4, (frames, len(sizes), stats.last_error)
    total = sum(d for d, _u in segments)
    assert abs(total - len(sizes) / 29.97) < 0.05, total
    assert stats.connections == 1 and stats.last_error is None  # a clean end (TEARDOWN)

    fragments = client(live_server, "kinesis-video-archived-media").list_fragments(
        StreamName=f"medialive-{cid}"
    )["Fragments"]
    assert sum(f["FragmentLengthInMilliseconds"] for f in fragments) >= 3500  # the recording, audio kept


def test_wrong_key_missing_key_and_others_are_refused_and_logged(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s3.create_bucket(Bucket="rtsp2")
    cid, url = make_channel(medialive, "rtsp2", "gus", input_type="RTSP_PUSH")
    _rtmp_cid, rtmp_url = make_channel(medialive, "rtsp2", "hal")  # an RTMP_PUSH input
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    port = live_server.container.channels.doors.rtsp.port
    base, key = url.rsplit("/", 1)
    wrong = base + "/" + key[:-1] + ("A" if key[-1] != "A" else "B")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert push_rtsp(hamilton_clip, wrong, 2).wait(30) != 0
        assert push_rtsp(hamilton_clip, base, 2).wait(30) != 0  # no key at all
        # the RTSP answers, before anything else is said
        options = "OPTIONS {} RTSP/1.0\r\nCSeq: {}\r\nUser-Agent: test\r\n\r\n"
        assert _rtsp_status(port, options.format(wrong, 7)) == "RTSP/1.0 401 Unauthorized | CSeq: 7"
        described = _rtsp_status(port, f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n\r\n")
        assert (
            described == "RTSP/1.0 405 Method Not Allowed | CSeq: 2"
        )  # a player: this port only takes pushes
        hal = rtmp_url.replace("rtmp://", "rtsp://").replace(
            f":{live_server.container.channels.rtmp_port}/", f":{port}/"
        )
        assert _rtsp_status(port, options.format(hal, 1)) == "RTSP/1.0 404 Not Found | CSeq: 1"
        assert _rtsp_status(port, options.format(f"rtsp://127.0.0.1:{port}/no/such/x", 1)).startswith(
            "RTSP/1.0 404 Not Found"
        )
        # a body too large to be an SDP is not buffered before the key is checked: the door hangs up
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"ANNOUNCE {url} RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 100000000\r\n\r\n".encode())
            assert s.recv(4096) == b""
        # UDP only: answered 461 Unsupported Transport, and nothing else to fall back to
        assert push_rtsp(hamilton_clip, url, 2, transport="udp").wait(30) != 0
    assert _refusals(live_server, "live/gus") == [
        "wrong stream key",
        "no stream key",
        "wrong stream key",
        "DESCRIBE is not taken here: this port only receives pushes",
    ]
    assert _refusals(live_server, "live/hal") == ["the input is an RTMP_PUSH input"]
    assert _refusals(live_server, "no/such") == ["no input has this stream name"]
    assert any(
        "RTSP push refused from 127.0.0.1 for 'live/gus': wrong stream key" in r.getMessage()
        for r in caplog.records
    )
    assert all(key not in r.getMessage() and key[:-1] not in r.getMessage() for r in caplog.records)
    stats = live_server.container.channels.stats(cid)
    assert stats is not None and stats.connections == 0 and stats.frames_in == 0
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")
    assert s3.list_objects_v2(Bucket="rtsp2").get("KeyCount", 0) == 0  # nothing got through


def test_push_from_outside_the_security_group_is_refused(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s3.create_bucket(Bucket="rtsp3")
    cid, url = make_channel(
        medialive, "rtsp3", "ida", cidr="10.0.0.0/8", input_type="RTSP_PUSH"
    )  # we are 127.0.0.1
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    port = live_server.container.channels.doors.rtsp.port
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert push_rtsp(hamilton_clip, url, 2).wait(30) != 0
        answer = _rtsp_status(port, f"ANNOUNCE {url} RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 0\r\n\r\n")
        assert answer == "RTSP/1.0 403 Forbidden | CSeq: 3"
    assert _refusals(live_server, "live/ida") == ["address outside the input security groups"] * 2
    assert any("RTSP push refused from 127.0.0.1 for 'live/ida'" in r.getMessage() for r in caplog.records)
    stats = live_server.container.channels.stats(cid)
    assert stats is not None and stats.connections == 0
    # the operator widens the group: the same URL now gets in
    sg = medialive.describe_input(
        InputId=medialive.describe_channel(ChannelId=cid)["InputAttachments"][0]["InputId"]
    )["SecurityGroups"][0]
    medialive.update_input_security_group(InputSecurityGroupId=sg, WhitelistRules=[{"Cidr": "127.0.0.1/32"}])
    assert _ok(push_rtsp(hamilton_clip, url, 2))
    wait_until(lambda: stats.connections == 1 and stats.segments >= 1, what="the accepted push")
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")


def test_rtsp_pusher_reconnects_after_a_discontinuity(
    live_server: RunningServer, medialive: Any, s3: Any, hamilton_clip: Path, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket="rtsp4")
    cid, url = make_channel(medialive, "rtsp4", "jon", input_type="RTSP_PUSH")
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    stats = live_server.container.channels.stats(cid)
    assert stats is not None
    frames, _b = _pushed(hamilton_clip, 3, WITH_B_FRAMES, tmp_path)
    assert _ok(push_rtsp(hamilton_clip, url, 3, WITH_B_FRAMES))
    _wait_written(stats, frames, "the first connection's segments")
    assert _ok(push_rtsp(hamilton_clip, url, 3, WITH_B_FRAMES))
    wait_until(lambda: stats.connections == 2 and stats.discontinuities == 1, what="the second connection")
    _wait_written(stats, frames, "the second connection's segments")
    assert medialive.describe_channel(ChannelId=cid)["State"] == "RUNNING"
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")
    lines, segments = _vod(s3, "rtsp4", "live/jon_360p.m3u8")
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    after = lines.index("#EXT-X-DISCONTINUITY")
    assert sum(1 for ln in lines[:after] if ln.startswith("#EXTINF")) >= 2
    assert sum(1 for ln in lines[after:] if ln.startswith("#EXTINF")) >= 2
    data = b"".join(s3.get_object(Bucket="rtsp4", Key=f"live/{u}")["Body"].read() for _d, u in segments)
    with av.open(io.BytesIO(data), format="mpegts") as c:
        decoded = sum(1 for _ in c.decode(video=0))
    assert 0 <= 2 * frames - decoded <= 8, (frames, decoded, stats)
    total = sum(d for d, _u in segments)
    assert abs(total - decoded / 29.97) < 0.1, total


def test_cli_rest_and_aws_cli_create_rtsp_push_inputs(live_server: RunningServer) -> None:
    port = live_server.container.channels.doors.rtsp.port
    result = CliRunner().invoke(
        app, ["channels", "create-group", "127.0.0.0/8", "--endpoint", live_server.url]
    )
    group = json.loads(result.output)["id"]
    args = [
        "channels",
        "create-input",
        "kim",
        "--type",
        "RTSP_PUSH",
        "--group",
        group,
        "--stream-name",
        "cam/kim",
    ]
    result = CliRunner().invoke(app, [*args, "--endpoint", live_server.url])
    assert result.exit_code == 0, result.output
    item = json.loads(result.output)
    assert item["type"] == "RTSP_PUSH" and item["state"] == "DETACHED"
    assert item["push_urls"][0].startswith(f"rtsp://127.0.0.1:{port}/cam/kim/")
    # the native API refuses what MediaLive's would (no security group)
    token = os.environ.get("VIDEOLENS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    bad = httpx.post(
        f"{live_server.url}/v1/channels/inputs",
        json={"name": "x", "type": "RTSP_PUSH", "stream_name": "cam/x"},
        headers=headers,
    )
    assert bad.status_code == 400, bad.text
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKID",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    aws = [str(Path(sys.executable).with_name("aws")), "--endpoint-url", live_server.url, "medialive"]
    command = ["create-input", "--name", "lou", "--type", "RTSP_PUSH", "--destinations", "StreamName=cam/lou"]
    out = subprocess.run(
        [*aws, *command, "--input-security-groups", group],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    created = json.loads(out)["Input"]
    assert created["Type"] == "RTSP_PUSH"
    assert created["Destinations"][0]["Url"].startswith(f"rtsp://127.0.0.1:{port}/cam/lou/")
