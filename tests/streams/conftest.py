"""Fixtures of the streams tests: a live server with boto3 KVS clients, Matroska made by ffmpeg."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws.conftest import ShapeChecker
from videolens.producer import PutMediaResult, chunks_of, put_media

WaitUntil = Callable[..., None]
CREDENTIALS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "secret",
}


def mkv_from(source: Path, *args: str, pre: tuple[str, ...] = ()) -> bytes:
    """Matroska as ffmpeg's live muxer writes it to a pipe or an HTTP POST."""
    cmd = ["ffmpeg", "-v", "error", *pre, "-i", str(source), *args, "-f", "matroska", "-live", "1", "pipe:1"]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


@pytest.fixture(scope="session")
def hamilton_mkv(hamilton_clip: Path) -> bytes:
    return mkv_from(hamilton_clip, "-c", "copy")


@dataclass
class Kvs:
    """boto3 clients pointed at the test server, built the way KVS consumers build them."""

    url: str
    container: Any
    checker: ShapeChecker

    def client(self, name: str, endpoint: str | None = None) -> Any:
        client = boto3.client(name, endpoint_url=endpoint or self.url, **CREDENTIALS)
        # every non-streaming answer must fit botocore's output shape
        client.meta.events.register("before-parse", self.checker)
        return client

    @property
    def video(self) -> Any:
        return self.client("kinesisvideo")

    def data_client(self, name: str, stream: str, api: str) -> Any:
        endpoint = self.video.get_data_endpoint(StreamName=stream, APIName=api)["DataEndpoint"]
        return self.client(name, endpoint)

    def create(self, stream: str, retention: int = 24) -> str:
        arn: str = self.video.create_stream(StreamName=stream, DataRetentionInHours=retention)["StreamARN"]
        return arn

    def put(self, stream: str, data: bytes, **options: Any) -> PutMediaResult:
        chunks = options.pop("chunks", None)
        return put_media(
            self.url, chunks if chunks is not None else chunks_of(data), stream_name=stream, **options
        )

    def fragments(self, stream: str) -> list[dict[str, Any]]:
        client = self.data_client("kinesis-video-archived-media", stream, "LIST_FRAGMENTS")
        pages = client.get_paginator("list_fragments").paginate(StreamName=stream)
        found = [f for page in pages for f in page["Fragments"]]
        return sorted(found, key=lambda f: f["FragmentNumber"])


@pytest.fixture
def kvs(server: Any) -> Iterator[Kvs]:
    # readers stop tailing soon after a producer finishes, so tests need not wait long
    server.container.streams.live_idle_s = 0.5
    checker = ShapeChecker()
    yield Kvs(server.url, server.container, checker)
    assert not checker.failures, checker.failures


@pytest.fixture
def wait_until() -> WaitUntil:
    def wait(predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            time.sleep(step)

    return wait
