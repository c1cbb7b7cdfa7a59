"""Native REST `/v1/processors`: the lifecycle and problem+json errors."""

from __future__ import annotations

import time
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
    started = api.post("/processors/door/start")
    assert started.status_code == 200 and len(started.json()["session_id"]) == 32
    assert api.post("/processors/door/start").status_code == 409  # already started
    deadline = time.monotonic() + 10
    while api.get("/processors/door").json()["status"] != "RUNNING":  # this server runs an engine
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert api.delete("/processors/door").status_code == 409
    assert api.post("/processors/door/stop").status_code == 204
    deadline = time.monotonic() + 10
    while api.get("/processors/door").json()["status"] != "STOPPED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert api.post("/processors/door/stop").status_code == 409  # not running
    listed = api.get("/processors").json()
    assert [p["name"] for p in listed["processors"]] == ["door"] and listed["next_token"] is None
    missing = api.get("/processors/ghost")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "application/problem+json"
    )
    bad = api.post(
        "/processors", json={**body, "name": "x", "settings": {"FaceSearch": {"CollectionId": "no"}}}
    )
    assert bad.status_code == 404
    bad_name = api.post("/processors", json={**body, "name": "bad name"})
    assert bad_name.status_code == 400 and bad_name.headers["content-type"] == "application/problem+json"
    assert bad_name.json()["detail"].startswith("name: ")
    malformed = api.post(
        "/processors", content=b'{"name": "x", "input": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.headers["content-type"] == "application/problem+json"
