"""Channels fixtures: one real server (HTTP + RTMP door) per module, boto3 clients, ffmpeg pushers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.vision.models import ModelRegistry

ANONYMIZE_TAG = "videolens:anonymize"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry) -> Iterator[RunningServer]:
    settings = make_settings(tmp_path_factory.mktemp("channels"), port=free_port(), channels_rtmp_port=0)
    container = Container(settings, models=models)
    server = RunningServer(container).start()
    yield server
    server.stop()
    container.close()


def client(server: RunningServer, name: str) -> Any:
    return boto3.client(
        name,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def medialive(live_server: RunningServer) -> Any:
    return client(live_server, "medialive")


@pytest.fixture(scope="module")
def s3(live_server: RunningServer) -> Any:
    return client(live_server, "s3")


def hls_encoder_settings(
    renditions: list[tuple[str, int | None, int | None, int]], segment_s: int = 1
) -> dict[str, Any]:
    """An EncoderSettings with one HLS group, as a MediaLive user writes it."""
    return {
        "AudioDescriptions": [],
        "VideoDescriptions": [
            {
                "Name": f"video{modifier}",
                **({"Width": w} if w else {}),
                **({"Height": h} if h else {}),
                "CodecSettings": {
                    "H264Settings": {"Bitrate": bitrate, "GopSize": 1, "GopSizeUnits": "SECONDS"}
                },
            }
            for modifier, w, h, bitrate in renditions
        ],
        "OutputGroups": [
            {
                "OutputGroupSettings": {
                    "HlsGroupSettings": {
                        "Destination": {"DestinationRefId": "dest"},
                        "SegmentLength": segment_s,
                        "IndexNSegments": 5,
                    }
                },
                "Outputs": [
                    {
                        "OutputName": modifier,
                        "VideoDescriptionName": f"video{modifier}",
                        "OutputSettings": {
                            "HlsOutputSettings": {
                                "NameModifier": modifier,
                                "HlsSettings": {"StandardHlsSettings": {"M3u8Settings": {}}},
                            }
                        },
                    }
                    for modifier, _w, _h, _b in renditions
                ],
            }
        ],
        "TimecodeConfig": {"Source": "SYSTEMCLOCK"},
    }


def wait_state(medialive: Any, cid: str, state: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc: dict[str, Any] = medialive.describe_channel(ChannelId=cid)
        if doc["State"] == state:
            return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"channel {cid} stayed {doc['State']}, wanted {state}")
        time.sleep(0.1)


def make_channel(
    medialive: Any,
    bucket: str,
    user: str,
    *,
    cidr: str = "127.0.0.0/8",
    renditions: list[tuple[str, int | None, int | None, int]] | None = None,
    tags: dict[str, str] | None = None,
    encoder_settings: dict[str, Any] | None = None,
    input_type: str = "RTMP_PUSH",
) -> tuple[str, str]:
    """The issue's flow: security group, push input, channel; waits for IDLE. (channel id, push URL)"""
    sg = medialive.create_input_security_group(WhitelistRules=[{"Cidr": cidr}])["SecurityGroup"]["Id"]
    inp = medialive.create_input(
        Name=user, Type=input_type, Destinations=[{"StreamName": "live/" + user}], InputSecurityGroups=[sg]
    )
    url = inp["Input"]["Destinations"][0]["Url"]
    ch = medialive.create_channel(
        Name=user,
        InputAttachments=[{"InputId": inp["Input"]["Id"]}],
        Destinations=[{"Id": "dest", "Settings": [{"Url": f"s3ssl://{bucket}/live/{user}"}]}],
        EncoderSettings=encoder_settings
        or hls_encoder_settings(renditions or [("_360p", None, None, 800_000)]),
        ChannelClass="SINGLE_PIPELINE",
        RoleArn="arn:aws:iam::123456789012:role/x",
        Tags=tags or {},
    )
    cid = ch["Channel"]["Id"]
    while medialive.describe_channel(ChannelId=cid)["State"] == "CREATING":
        time.sleep(0.1)
    return cid, url


def push(
    source: Path,
    url: str,
    seconds: float,
    extra: list[str] | None = None,
    container: str = "flv",
    output_options: list[str] | None = None,
) -> subprocess.Popen[bytes]:
    """ffmpeg publishing `source` in real time to an RTMP URL (as OBS or a phone app would), or with
    `container="rtsp"` to an RTSP URL (ANNOUNCE / SETUP / RECORD)."""
    return subprocess.Popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-t",
            str(seconds),
            "-i",
            str(source),
            *(extra or ["-c", "copy"]),
            "-f",
            container,
            *(output_options or []),
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def start_pull_channel(
    medialive: Any, name: str, source_url: str, destination: str, rendition: tuple[str, int]
) -> str:
    """A URL_PULL input on `source_url` and a channel with one HLS rendition (name modifier, bitrate)
    into `destination` (an s3:// URL), started: returns the RUNNING channel's id."""
    inp = medialive.create_input(Name=name, Type="URL_PULL", Sources=[{"Url": source_url}])["Input"]
    assert (inp["Type"], inp["Sources"], inp["Destinations"]) == ("URL_PULL", [{"Url": source_url}], [])
    modifier, bitrate = rendition
    cid: str = medialive.create_channel(
        Name=name,
        InputAttachments=[{"InputId": inp["Id"]}],
        Destinations=[{"Id": "dest", "Settings": [{"Url": destination}]}],
        EncoderSettings=hls_encoder_settings([(modifier, None, None, bitrate)]),
    )["Channel"]["Id"]
    wait_state(medialive, cid, "IDLE")
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    return cid


def wait_until(check: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
