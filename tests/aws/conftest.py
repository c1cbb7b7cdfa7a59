"""Fixtures of the AWS facade tests: boto3 clients on a real server (dev and secure auth modes)
whose every response is checked against botocore's output shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.aws.shape_check import check_json_body, check_xml_body
from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.vision.models import ModelRegistry

REGION = "us-east-1"
DEV_KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


class ShapeChecker:
    """A botocore `before-parse` hook: every successful response must fit its output shape."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.checked: list[str] = []

    def __call__(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] >= 300 or operation_model.has_streaming_output:
            return
        body = response_dict["body"]
        try:
            if operation_model.metadata["protocol"] in ("json", "rest-json"):
                check_json_body(operation_model, body)
            elif operation_model.metadata["protocol"] == "rest-xml":
                check_xml_body(operation_model, body)
            self.checked.append(operation_model.name)
        except AssertionError as exc:
            self.failures.append(f"{operation_model.name}: {exc}")


@pytest.fixture
def shape_checker() -> Iterator[ShapeChecker]:
    checker = ShapeChecker()
    yield checker
    assert not checker.failures, checker.failures


ClientFactory = Callable[..., Any]


def _factory(url: str, checker: ShapeChecker, key: tuple[str, str]) -> ClientFactory:
    def make(service: str, access_key: str | None = None, secret: str | None = None, **kwargs: Any) -> Any:
        client = boto3.client(
            service,
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=access_key or key[0],
            aws_secret_access_key=secret or key[1],
            config=kwargs.pop("config", NO_RETRIES),
            **kwargs,
        )
        client.meta.events.register("before-parse", checker)
        return client

    return make


@pytest.fixture
def aws(server: RunningServer, shape_checker: ShapeChecker) -> ClientFactory:
    """boto3 clients against a dev-mode server (any access key accepted)."""
    return _factory(server.url, shape_checker, DEV_KEY)


class SecureServer:
    def __init__(self, server: RunningServer, key_id: str, secret: str) -> None:
        self.server = server
        self.url = server.url
        self.key_id = key_id
        self.secret = secret
        self.container = server.container


@pytest.fixture
def secure_server(tmp_path: Path, models: ModelRegistry) -> Iterator[SecureServer]:
    settings = make_settings(tmp_path / "secure", port=free_port(), auth_mode="secure")
    container = Container(settings, models=models)
    key = container.keys.create("tests")
    srv = RunningServer(container).start()
    yield SecureServer(srv, key.access_key_id, key.secret_access_key)
    srv.stop()
    container.close()


@pytest.fixture
def secure_aws(secure_server: SecureServer, shape_checker: ShapeChecker) -> ClientFactory:
    return _factory(secure_server.url, shape_checker, (secure_server.key_id, secure_server.secret))
