"""`videolens channels ...` over the native REST API against a running server, and the AWS CLI's view."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from tests.channels.conftest import push, wait_until
from tests.conftest import RunningServer
from videolens.cli import app

AWS = str(Path(sys.executable).with_name("aws"))


def _cli(server: RunningServer, *args: str) -> Any:
    result = CliRunner().invoke(app, ["channels", *args, "--endpoint", server.url])
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if result.output.lstrip().startswith("{") else result.output


def test_cli_creates_starts_and_stops_a_channel(
    live_server: RunningServer, s3: Any, hamilton_clip: Path, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket="cli")
    group = _cli(live_server, "create-group", "127.0.0.0/8")
    item = _cli(live_server, "create-input", "henry", "--group", group["id"], "--stream-name", "live/henry")
    assert item["state"] == "DETACHED" and item["push_urls"][0].startswith("rtmp://127.0.0.1:")
    channel = _cli(live_server, "create", "henry", item["id"], "s3://cli/shows/henry", "--anonymize", "blur")
    assert channel["anonymize"] == {"mode": "blur"}
    wait_until(lambda: _cli(live_server, "describe", channel["id"])["state"] == "IDLE", what="IDLE")
    assert _cli(live_server, "start", channel["id"])["state"] == "STARTING"
    wait_until(lambda: _cli(live_server, "describe", channel["id"])["state"] == "RUNNING", what="RUNNING")
    assert f"{channel['id']}  RUNNING" in _cli(live_server, "list")
    assert push(hamilton_clip, item["push_urls"][0], 3).wait(30) == 0
    _cli(live_server, "stop", channel["id"])
    wait_until(lambda: _cli(live_server, "describe", channel["id"])["state"] == "IDLE", what="IDLE again")
    vod = s3.get_object(Bucket="cli", Key="shows/henry_main.m3u8")["Body"].read().decode()
    assert vod.rstrip().endswith("#EXT-X-ENDLIST")
    # the native URL serves the same playlist, with the playback key on every URI; a wrong key is refused
    url = channel["hls_url"].replace("henry.m3u8", "henry_main.m3u8")
    native = httpx.get(url).text
    assert all(
        ln.endswith("?key=" + url.rsplit("=", 1)[1]) for ln in native.splitlines() if ln and ln[0] != "#"
    )
    assert httpx.get(url[:-2] + "xx").status_code == 404
    bad = CliRunner().invoke(app, ["channels", "stop", channel["id"], "--endpoint", live_server.url])
    assert bad.exit_code != 0 and "409" in bad.output

    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKID",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [
            AWS,
            "--endpoint-url",
            live_server.url,
            "medialive",
            "describe-channel",
            "--channel-id",
            channel["id"],
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)["State"] == "IDLE"
