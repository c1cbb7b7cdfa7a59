"""Native REST routes of the streams capability (JSON, problem+json errors)."""

from __future__ import annotations

import io

import av
import httpx

from tests.streams.conftest import Kvs


def test_rest_flow(kvs: Kvs, hamilton_mkv: bytes) -> None:
    api = httpx.Client(base_url=kvs.url + "/v1", timeout=30)
    created = api.post("/streams", json={"name": "porch", "retention_hours": 12, "tags": {"site": "home"}})
    assert created.status_code == 201
    assert created.json()["arn"].startswith("arn:aws:kinesisvideo:us-east-1:000000000000:stream/porch/")
    assert api.post("/streams", json={"name": "porch"}).json()["type"].endswith("already-exists")
    assert api.post("/streams", json={"name": "bad name"}).status_code == 400
    assert [s["name"] for s in api.get("/streams").json()["streams"]] == ["porch"]
    assert api.get("/streams/porch").json()["tags"] == {"site": "home"}

    kvs.put("porch", hamilton_mkv)
    fragments = api.get("/streams/porch/fragments").json()["fragments"]
    assert [f["duration_ms"] for f in fragments] == [2002, 2002, 1435, 1601, 2002, 133]
    start = fragments[0]["producer_timestamp"]
    end = fragments[-1]["producer_timestamp"]

    clip = api.get("/streams/porch/clip.mp4", params={"start": start, "end": end})
    assert clip.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(clip.content)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 275

    media = api.get("/streams/porch/media", params={"selector": "EARLIEST"})
    assert media.headers["content-type"] == "video/webm"
    assert media.content.count(b"AWS_KINESISVIDEO_FRAGMENT_NUMBER") == 6

    images = api.get("/streams/porch/images", params={"start": start, "end": start + 3, "width": 64}).json()
    assert len(images["images"]) == 3

    url = api.post(
        "/streams/porch/hls",
        json={"mode": "ON_DEMAND", "kind": "PRODUCER_TIMESTAMP", "start": start, "end": end},
    )
    playlist = httpx.get(url.json()["url"].replace("getHLSMasterPlaylist", "getHLSMediaPlaylist")).text
    assert playlist.count("#EXTINF") == 6

    problem = api.get("/streams/nope/fragments")
    assert problem.status_code == 404 and problem.headers["content-type"] == "application/problem+json"
    assert api.delete("/streams/porch").status_code == 204
    assert api.get("/streams/porch").status_code == 404
