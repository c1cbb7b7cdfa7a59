"""sagemaker-runtime InvokeEndpoint through boto3: registered models by name, errors in SageMaker's shapes."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningServer
from tests.models.conftest import sagemaker_client
from tests.models.test_http_kind import aws_error, register


def test_invoke_endpoint_runs_builtin_models_by_name(server: RunningServer, city_jpg: bytes) -> None:
    assert register(server, "faces", "builtin", model="face-detector").status_code == 201
    client = sagemaker_client(server.url)
    out = client.invoke_endpoint(
        EndpointName="faces", Body=city_jpg, ContentType="image/jpeg", Accept="application/json"
    )
    answer = json.loads(out["Body"].read())
    assert out["ContentType"] == "application/json"
    assert answer["class_names"] == ["face"] and len(answer["prediction"]) >= 10
    assert len(answer["landmarks"]) == len(answer["prediction"])
    # the same answer as the native door
    import httpx

    native = httpx.post(
        f"{server.url}/v1/models/faces/invoke", content=city_jpg, headers={"Content-Type": "image/jpeg"}
    )
    assert json.loads(native.content) == answer


def test_invoke_endpoint_errors(server: RunningServer, city_jpg: bytes) -> None:
    client = sagemaker_client(server.url)
    with pytest.raises(ClientError) as exc:
        client.invoke_endpoint(EndpointName="nope", Body=city_jpg, ContentType="image/jpeg")
    assert aws_error(exc) == ("ValidationError", 400, "Endpoint nope of account 000000000000 not found.")
    with pytest.raises(ClientError) as exc:
        client.invoke_endpoint(EndpointName="bad_name", Body=city_jpg)
    code, status, message = aws_error(exc)
    assert (code, status) == ("ValidationError", 400) and "EndpointName" in message
    register(server, "people", "builtin", model="person-detector")
    with pytest.raises(ClientError) as exc:
        client.invoke_endpoint(
            EndpointName="people", Body=b'{"not": "an image"}', ContentType="application/json"
        )
    code, status, message = aws_error(exc)
    assert (code, status) == ("ModelError", 424) and "not an image" in message
    with pytest.raises(ClientError) as exc:
        client.invoke_endpoint(
            EndpointName="people", Body=b"\xff" * (server.container.settings.max_image_bytes + 1)
        )
    assert aws_error(exc)[:2] == ("ValidationError", 400)
    assert client.invoke_endpoint(EndpointName="people", Body=city_jpg)["ContentType"] == "application/json"
