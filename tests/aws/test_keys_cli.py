"""`videolens keys create|list|delete`, and a created key signing real boto3 requests in secure mode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from tests.conftest import RunningServer, free_port, make_settings
from videolens.cli import app
from videolens.container import Container
from videolens.vision.models import ModelRegistry


@pytest.fixture
def secure_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("VIDEOLENS_DATA_DIR", str(data))
    return data


@pytest.fixture
def secure_server(secure_data: Path, models: ModelRegistry) -> Iterator[RunningServer]:
    c = Container(make_settings(secure_data, port=free_port(), auth_mode="secure"), models=models)
    srv = RunningServer(c).start()
    yield srv
    srv.stop()
    c.close()


def test_keys_lifecycle_signs_requests(secure_server: RunningServer) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--description", "uploader", "--json"])
    assert created.exit_code == 0, created.output
    pair = json.loads(created.stdout)
    listed = runner.invoke(app, ["keys", "list"])
    assert pair["AccessKeyId"] in listed.stdout and pair["SecretAccessKey"] not in listed.stdout

    def s3(secret: str):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=secure_server.url,
            region_name="us-east-1",
            aws_access_key_id=pair["AccessKeyId"],
            aws_secret_access_key=secret,
        )

    s3(pair["SecretAccessKey"]).create_bucket(Bucket="signed")
    assert [b["Name"] for b in s3(pair["SecretAccessKey"]).list_buckets()["Buckets"]] == ["signed"]
    with pytest.raises(ClientError) as wrong:
        s3("not-the-secret").list_buckets()
    assert wrong.value.response["Error"]["Code"] == "SignatureDoesNotMatch"

    assert runner.invoke(app, ["keys", "delete", pair["AccessKeyId"]]).exit_code == 0
    with pytest.raises(ClientError) as gone:
        s3(pair["SecretAccessKey"]).list_buckets()
    assert gone.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    missing = runner.invoke(app, ["keys", "delete", pair["AccessKeyId"]])
    assert missing.exit_code == 2 and "error" in missing.output
