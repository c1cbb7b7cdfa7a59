"""Brute-force brake: after N failed authentications from one address within the window, 429 + Retry-After."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import botocore.config
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.auth.conftest import PROBLEM, start_secure
from videolens.services.auth.limiter import FailureLimiter
from videolens.services.auth.models import Role
from videolens.vision.models import ModelRegistry

WRONG = {"Authorization": "Bearer vl_zzzzzzzzzzzz_" + "x" * 43}


def test_limiter_window_and_bounds() -> None:
    now = [100.0]
    limiter = FailureLimiter(limit=3, window_s=10, max_addresses=2, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.record_failure("a")
    assert limiter.retry_after("a") == 10
    now[0] += 4
    assert limiter.retry_after("a") == 6
    now[0] += 6.01  # the oldest failure left the window
    assert limiter.retry_after("a") is None
    limiter.record_failure("b")
    limiter.record_failure("c")  # over max_addresses: the least recently failing is forgotten
    assert set(limiter._failures) == {"b", "c"}


def test_failures_from_one_address_are_slowed_down(tmp_path: Path, models: ModelRegistry) -> None:
    app = start_secure(tmp_path, models, auth_failure_limit=4, auth_failure_window_seconds=10)
    try:
        url = app.url + "/v1/collections"
        good = app.bearer(Role.VIEWER)
        assert httpx.get(url, headers=good).status_code == 200
        # bearer and SigV4 failures count alike; requests without any credential do not
        for _ in range(3):
            assert httpx.get(url).status_code == 401
        for _ in range(2):
            assert httpx.get(url, headers=WRONG).status_code == 401
        rekognition = boto3.client(
            "rekognition",
            endpoint_url=app.url,
            region_name="us-east-1",
            aws_access_key_id=app.keys[Role.ADMIN][0],
            aws_secret_access_key="wrong-secret-wrong-secret",
            config=botocore.config.Config(retries={"total_max_attempts": 1}),
        )
        with pytest.raises(ClientError) as bad:
            rekognition.list_collections()
        assert bad.value.response["Error"]["Code"] == "InvalidSignatureException"
        assert httpx.get(url, headers=WRONG).status_code == 401  # the 4th failure
        # over the limit: even a valid credential waits, on both doors
        blocked = httpx.get(url, headers=good)
        assert blocked.status_code == 429 and blocked.headers["content-type"] == PROBLEM
        assert 1 <= int(blocked.headers["retry-after"]) <= 10
        assert blocked.json()["type"].endswith("too-many-auth-failures")
        with pytest.raises(ClientError) as throttled:
            rekognition.list_collections()
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
        assert httpx.get(app.url + "/healthz").status_code == 200  # public routes stay open
        time.sleep(int(blocked.headers["retry-after"]) + 0.2)
        assert httpx.get(url, headers=good).status_code == 200
    finally:
        app.server.stop()
        app.container.close()
