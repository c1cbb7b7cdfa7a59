"""Fixtures of the data streams tests, parametrised by shard-log backend (embedded segment log, Redis).

A test that takes `ds_url` (or anything built on it: `ds_settings`, `ds_container`, `ds_server`,
`kinesis`) runs once per entry of `DS_BACKENDS`. Each run gets its own data dir and, for Redis, its
own key prefix, so parallel runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.aws.shape_check import check_json_body
from tests.conftest import RunningServer, free_port, make_settings
from videolens.api.aws.errors import ParamValidationError
from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.vision.models import ModelRegistry

REGION = "us-east-1"
DEV_KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
REDIS_URL = os.environ.get("VIDEOLENS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

#: backend name → how to make its VIDEOLENS_DATASTREAMS_URL for one test (a unique Redis prefix)
DS_BACKENDS: dict[str, Callable[[Path], str]] = {
    "embedded": lambda tmp: "embedded",
    "redis": lambda tmp: unique_redis_url(),
}


@pytest.fixture(params=list(DS_BACKENDS))
def ds_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = DS_BACKENDS[request.param](tmp_path)
    yield url
    if url.startswith("redis://"):
        drop_redis_prefix(url)


def drop_redis_prefix(url: str) -> None:
    """Delete every key a test wrote under its unique prefix (the local Redis is shared)."""
    import redis

    from videolens.backends.datastreams.redis_streams import split_url

    redis_url, prefix = split_url(url)
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    finally:
        client.close()


def unique_redis_url() -> str:
    return f"{REDIS_URL}?prefix=vltest:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def ds_settings(ds_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path / "data",
        port=free_port(),
        datastreams_url=ds_url,
        # tests that check throttling switch it on themselves
        datastreams_enforce_limits=False,
    )


@pytest.fixture
def ds_container(ds_settings: Settings, models: ModelRegistry) -> Iterator[Container]:
    c = Container(ds_settings, models=models)
    yield c
    c.close()


@pytest.fixture
def ds_server(ds_container: Container) -> Iterator[RunningServer]:
    srv = RunningServer(ds_container).start()
    yield srv
    srv.stop()


class KinesisShapeChecker:
    """A botocore `before-parse` hook: every successful kinesis response must fit its output shape."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] >= 300 or operation_model.has_event_stream_output:
            return
        try:
            check_json_body(operation_model, response_dict["body"])
        except (AssertionError, ParamValidationError) as exc:
            # the model says FailedRecordCount >= 1 and ShardLevelMetrics has >= 1 item, yet AWS sends
            # (and clients expect) 0 and [] for them
            if "FailedRecordCount" not in str(exc) and "ShardLevelMetrics" not in str(exc):
                self.failures.append(f"{operation_model.name}: {exc}")


def kinesis_client(url: str, checker: KinesisShapeChecker | None = None, **kwargs: Any) -> Any:
    client = boto3.client(
        "kinesis",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=DEV_KEY[0],
        aws_secret_access_key=DEV_KEY[1],
        config=kwargs.pop("config", NO_RETRIES),
        **kwargs,
    )
    if checker is not None:
        client.meta.events.register("before-parse", checker)
    return client


@pytest.fixture
def kinesis(ds_server: RunningServer) -> Iterator[Any]:
    """A boto3 kinesis client on a real server; every answer is checked against botocore's shape."""
    checker = KinesisShapeChecker()
    yield kinesis_client(ds_server.url, checker)
    assert not checker.failures, checker.failures
