"""`http` kind against a real SageMaker-contract endpoint (HOG people detector): both doors, resilience."""

from __future__ import annotations

import time
from concurrent.futures import wait
from typing import Any

import httpx
import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningServer, free_port
from tests.models.conftest import sagemaker_client
from tests.models.servers import Behaviour, ThreadServer
from videolens.media.images import encode_jpeg
from videolens.services.models.errors import ModelUnavailableError
from videolens.services.models.models import ModelInput


def register(server: RunningServer, name: str, kind: str, **fields: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/models", json={"name": name, "kind": kind, **fields}, timeout=60)


def invoke(server: RunningServer, name: str, body: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/models/{name}/invoke",
        content=body,
        headers={"Content-Type": content_type},
        timeout=60,
    )


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = resp.json()
    assert doc["type"].endswith("/" + code), doc
    return doc


def aws_error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def test_person_detector_endpoint_through_rest_and_invoke_endpoint(
    server: RunningServer, hog_server: ThreadServer, behaviour: Behaviour, city_jpg: bytes
) -> None:
    resp = register(server, "people", "http", url=hog_server.url + "/invocations", content_type="image/jpeg")
    assert resp.status_code == 201, resp.text
    assert resp.json()["kind"] == "http" and resp.json()["config"]["url"] == hog_server.url + "/invocations"
    direct = httpx.post(
        hog_server.url + "/invocations", content=city_jpg, headers={"Content-Type": "image/jpeg"}
    )

    answer = invoke(server, "people", city_jpg)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == direct.content  # the model's bytes, untouched
    rows = answer.json()["prediction"]
    assert len(rows) >= 3  # a crowded crossing
    for cls, score, *box in rows:
        assert cls == 0 and 0.5 <= score <= 1 and all(0 <= v <= 1 for v in box) and box[0] < box[2]

    out = sagemaker_client(server.url).invoke_endpoint(
        EndpointName="people", Body=city_jpg, ContentType="image/jpeg"
    )
    assert out["Body"].read() == direct.content
    assert out["ContentType"] == "application/json"
    assert out["InvokedProductionVariant"] == "AllTraffic"
    assert behaviour.calls == 3


def test_builtin_person_detector_finds_the_endpoints_people(
    server: RunningServer, hog_server: ThreadServer, city_jpg: bytes
) -> None:
    assert register(server, "hog", "builtin", model="person-detector").status_code == 201
    ours = invoke(server, "hog", city_jpg).json()
    theirs = httpx.post(
        hog_server.url + "/invocations", content=city_jpg, headers={"Content-Type": "image/jpeg"}
    ).json()
    assert ours["class_names"] == ["person"]
    assert len(ours["prediction"]) >= 3
    for row in ours["prediction"]:  # the same HOG windows (ours only adds NMS on top)
        assert any(np.allclose(row, other, atol=1e-5) for other in theirs["prediction"]), row
    blank = encode_jpeg(np.full((480, 640, 3), 90, np.uint8))
    assert invoke(server, "hog", blank).json()["prediction"] == []


def test_a_slow_model_times_out_after_its_retries(
    server: RunningServer, hog_server: ThreadServer, behaviour: Behaviour, city_jpg: bytes
) -> None:
    url = hog_server.url + "/invocations"
    assert (
        register(server, "slow", "http", url=url, timeout_s=0.3, retries=1, backoff_s=0.05).status_code == 201
    )
    behaviour.sleep_s = 1.5
    started = time.monotonic()
    doc = assert_problem(invoke(server, "slow", city_jpg), 504, "model-timeout")
    assert time.monotonic() - started < 1.4  # 2 x 0.3 s + back-off, not the model's 1.5 s
    assert "no answer within 0.3 s (2 tries)" in doc["detail"]
    with pytest.raises(ClientError) as exc:
        sagemaker_client(server.url).invoke_endpoint(
            EndpointName="slow", Body=city_jpg, ContentType="image/jpeg"
        )
    code, status, _ = aws_error(exc)
    assert (code, status) == ("ModelError", 424)


def test_retries_ride_over_server_errors(
    server: RunningServer, hog_server: ThreadServer, behaviour: Behaviour, city_jpg: bytes
) -> None:
    url = hog_server.url + "/invocations"
    register(server, "flaky", "http", url=url, retries=2, backoff_s=0.05)
    register(server, "strict", "http", url=url, retries=0)
    behaviour.fail_next = 2
    assert invoke(server, "flaky", city_jpg).status_code == 200
    assert behaviour.calls == 3
    behaviour.fail_next = 1
    doc = assert_problem(invoke(server, "strict", city_jpg), 502, "model-error")
    assert "answered 500" in doc["detail"] and "model crashed" in doc["detail"]


def test_circuit_breaker_opens_fails_fast_and_closes_after_a_good_trial(
    server: RunningServer, hog_server: ThreadServer, behaviour: Behaviour, city_jpg: bytes
) -> None:
    url = hog_server.url + "/invocations"
    register(server, "fragile", "http", url=url, retries=0, breaker_failures=2, breaker_reset_s=0.6)
    behaviour.fail_always = True
    assert_problem(invoke(server, "fragile", city_jpg), 502, "model-error")
    assert_problem(invoke(server, "fragile", city_jpg), 502, "model-error")
    doc = assert_problem(invoke(server, "fragile", city_jpg), 503, "model-unavailable")
    assert "circuit breaker open" in doc["detail"]
    with pytest.raises(ClientError) as exc:
        sagemaker_client(server.url).invoke_endpoint(
            EndpointName="fragile", Body=city_jpg, ContentType="image/jpeg"
        )
    assert aws_error(exc)[:2] == ("ServiceUnavailable", 503)
    assert behaviour.calls == 2  # open: nothing reached the model
    behaviour.fail_always = False
    time.sleep(0.7)
    assert invoke(server, "fragile", city_jpg).status_code == 200  # the half-open trial succeeds
    assert invoke(server, "fragile", city_jpg).status_code == 200
    assert behaviour.calls == 4


def test_the_models_own_client_errors_come_back_and_never_open_the_breaker(
    server: RunningServer, hog_server: ThreadServer, behaviour: Behaviour
) -> None:
    register(server, "picky", "http", url=hog_server.url + "/invocations", retries=2, breaker_failures=2)
    for _ in range(3):
        doc = assert_problem(invoke(server, "picky", b"this is text, not a picture"), 502, "model-error")
        assert "answered 400" in doc["detail"] and "body is not an image" in doc["detail"]
    assert behaviour.calls == 3  # 4xx: no retries, and the breaker stayed closed
    with pytest.raises(ClientError) as exc:
        sagemaker_client(server.url).invoke_endpoint(
            EndpointName="picky", Body=b"text", ContentType="text/plain"
        )
    code, status, message = aws_error(exc)
    assert (code, status) == ("ModelError", 424) and "415" in message


def test_a_model_server_that_is_down(server: RunningServer, city_jpg: bytes) -> None:
    register(
        server, "gone", "http", url=f"http://127.0.0.1:{free_port()}/invocations", retries=1, backoff_s=0.01
    )
    doc = assert_problem(invoke(server, "gone", city_jpg), 502, "model-error")
    assert "cannot reach" in doc["detail"]
    with pytest.raises(ClientError) as exc:
        sagemaker_client(server.url).invoke_endpoint(
            EndpointName="gone", Body=city_jpg, ContentType="image/jpeg"
        )
    assert aws_error(exc)[:2] == ("ModelError", 424)


def test_per_model_concurrency_limit(
    server: RunningServer, hog_server: ThreadServer, behaviour: Behaviour, city_jpg: bytes
) -> None:
    url = hog_server.url + "/invocations"
    register(server, "single", "http", url=url, max_concurrency=1, queue_timeout_s=0.3, timeout_s=5)
    behaviour.sleep_s = 1.0
    service = server.container.models_service
    futures = [service.submit("single", ModelInput.from_bytes(city_jpg, "image/jpeg")) for _ in range(2)]
    wait(futures, timeout=20)
    outcomes = sorted(type(f.exception()).__name__ if f.exception() else "ok" for f in futures)
    assert outcomes == ["ModelUnavailableError", "ok"]
    assert isinstance(next(f.exception() for f in futures if f.exception()), ModelUnavailableError)
    assert behaviour.calls == 1
