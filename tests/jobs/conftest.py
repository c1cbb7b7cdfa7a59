"""Fixtures of the jobs tests: fast job settings, a webhook receiver, boto3 clients against the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.aws.conftest import ShapeChecker
from tests.conftest import free_port, make_settings
from tests.jobs.webhook import WebhookReceiver
from videolens.runtime.settings import Settings

#: the detector runs on every 3rd frame in tests (tracking links them) to keep the suite fast on 2 cores
TEST_DETECT_EVERY = 3


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path / "data",
        port=free_port(),
        job_detect_every=TEST_DETECT_EVERY,
        event_retry_base_seconds=0.2,
        event_max_attempts=3,
    )


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


class StrictShapes(ShapeChecker):
    """Fails the client call at once when a response does not fit botocore's output shape."""

    def __call__(self, operation_model: Any, response_dict: dict[str, Any], **kwargs: Any) -> None:
        super().__call__(operation_model, response_dict, **kwargs)
        if self.failures:
            raise AssertionError(self.failures)


def aws_client(service: str, url: str) -> Any:
    """A boto3 client on our server; every JSON / XML response is checked against its output shape."""
    client = boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )
    client.meta.events.register("before-parse", StrictShapes())
    return client
