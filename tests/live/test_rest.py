"""Native REST `/v1/processors`: the lifecycle and problem+json errors."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import RunningServer
from tests.live.test_flow import _setup


def test_rest_lifecycle(server: RunningServer, media_dir: Path) -> None:
    _rek, _kvs, _kinesis, video_arn, data_arn = _setup(server, media_dir)
    api = httpx.Client(base_url=server.url + "/v1", timeout=10)
    body = {
        "name": "door",
        "input": {"KinesisVideoStream": {"Arn": video_arn}},
        "output": {"KinesisDataStream": {"Arn": data_arn}},
        "settings": {"FaceSearch": {"CollectionId": "people"}},
        "lag_policy": "live",
    }
    created = api.post("/processors", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "STOPPED" and created.json()["lag_policy"] == "live"
    assert api.post("/processors", json=body).status_code == 409
    assert api.post("/processors/door/start").status_code == 200
    assert api.get("/processors/door").json()["status"] in ("STARTING", "RUNNING")
    assert api.delete("/processors/door").status_code == 409
    assert api.post("/processors/door/stop").status_code == 204
    assert [p["name"] for p in api.get("/processors").json()["processors"]] == ["door"]
    missing = api.get("/processors/ghost")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "application/problem+json"
    )
    bad = api.post(
        "/processors", json={**body, "name": "x", "settings": {"FaceSearch": {"CollectionId": "no"}}}
    )
    assert bad.status_code == 404
    assert api.post("/processors", json={**body, "name": "bad name"}).status_code in (400, 422)
