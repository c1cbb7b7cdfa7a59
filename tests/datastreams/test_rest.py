"""Native REST `/v1/datastreams` over real HTTP, on both shard-log backends: streams, put, read from
every position, following next_iterator, and bad input answered with problem+json."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import RunningServer

DS = "/v1/datastreams"


@pytest.fixture
def api(ds_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ds_server.url, timeout=30) as client:
        yield client


def problem(response: httpx.Response, status: int) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    doc = response.json()
    assert doc["status"] == status and doc["detail"]
    return doc  # type: ignore[no-any-return]


def read_shard(api: httpx.Client, name: str, shard_id: str, **params: str) -> list[dict]:  # type: ignore[type-arg]
    """Every record of a shard from a position, following next_iterator until a page comes back empty."""
    page = api.get(DS + f"/{name}/shards/{shard_id}/records", params=params).json()
    records = list(page["records"])
    while page["records"]:
        page = api.get(
            DS + f"/{name}/shards/{shard_id}/records", params={"iterator": page["next_iterator"]}
        ).json()
        records += page["records"]
    return records


def test_create_describe_list_delete(api: httpx.Client) -> None:
    created = api.post(DS, json={"name": "results", "shard_count": 4, "tags": {"team": "vision"}})
    assert created.status_code == 201, created.text
    doc = created.json()
    assert doc["name"] == "results" and doc["status"] == "ACTIVE" and doc["mode"] == "PROVISIONED"
    assert doc["arn"] == "arn:aws:kinesis:us-east-1:000000000000:stream/results"
    assert doc["retention_hours"] == 24 and doc["tags"] == {"team": "vision"}
    assert [s["shard_id"] for s in doc["shards"]] == [f"shardId-00000000000{i}" for i in range(4)]
    # the four ranges cover the 128-bit hash space without gap or overlap
    assert doc["shards"][0]["starting_hash_key"] == "0"
    assert doc["shards"][-1]["ending_hash_key"] == str(2**128 - 1)
    for left, right in zip(doc["shards"], doc["shards"][1:], strict=False):
        assert int(right["starting_hash_key"]) == int(left["ending_hash_key"]) + 1
    assert all(s["open"] and s["ending_sequence_number"] is None for s in doc["shards"])

    described = api.get(DS + "/results").json()
    assert described["open_shard_count"] == 4 and described["shards"] == doc["shards"]
    assert api.get(DS + "/results/shards").json() == doc["shards"]
    api.post(DS, json={"name": "other", "shard_count": 1})
    assert [s["name"] for s in api.get(DS).json()["streams"]] == ["other", "results"]
    first = api.get(DS, params={"limit": 1}).json()
    assert [s["name"] for s in first["streams"]] == ["other"] and first["next_token"]
    second = api.get(DS, params={"limit": 1, "next_token": first["next_token"]}).json()
    assert [s["name"] for s in second["streams"]] == ["results"]

    assert problem(api.post(DS, json={"name": "results", "shard_count": 1}), 409)
    on_demand = api.post(DS, json={"name": "auto", "mode": "ON_DEMAND"}).json()
    assert on_demand["mode"] == "ON_DEMAND" and len(on_demand["shards"]) == 4
    assert api.delete(DS + "/auto").status_code == 204
    assert api.delete(DS + "/results").status_code == 204
    problem(api.get(DS + "/results"), 404)
    problem(api.delete(DS + "/results"), 404)


def test_put_and_read_back_from_every_position(api: httpx.Client) -> None:
    api.post(DS, json={"name": "s", "shard_count": 2})
    before = datetime.now(UTC)
    body = {
        "records": [
            {"text": "hello", "partition_key": "a"},
            {"data": base64.b64encode(b"\x00\xffbin").decode(), "partition_key": "b"},
            *({"text": f"n{i}", "partition_key": f"key-{i % 7}"} for i in range(50)),
            {"text": "to shard 1", "partition_key": "x", "explicit_hash_key": str(2**127 + 5)},
        ]
    }
    put = api.post(DS + "/s/records", json=body)
    assert put.status_code == 200, put.text
    result = put.json()
    assert result["failed_record_count"] == 0 and len(result["records"]) == 53
    assert result["records"][-1]["shard_id"] == "shardId-000000000001"
    by_shard: dict[str, list[tuple[str, str]]] = {}
    for entry, sent in zip(result["records"], body["records"], strict=True):
        assert entry["error_code"] is None
        payload = sent.get("text", "").encode() if "text" in sent else base64.b64decode(sent["data"])
        by_shard.setdefault(entry["shard_id"], []).append((entry["sequence_number"], payload))

    for shard_id, expected in by_shard.items():
        records = read_shard(api, "s", shard_id, position="TRIM_HORIZON", limit="7")
        assert [(r["sequence_number"], base64.b64decode(r["data"])) for r in records] == expected
        seqs = [int(r["sequence_number"]) for r in records]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        arrival = datetime.fromisoformat(records[0]["arrival"])
        assert before.timestamp() - 1 <= arrival.timestamp() <= time.time() + 1
        third = expected[2][0]
        at = read_shard(api, "s", shard_id, position="AT_SEQUENCE_NUMBER", sequence_number=third)
        assert [r["sequence_number"] for r in at] == [seq for seq, _ in expected[2:]]
        after = read_shard(api, "s", shard_id, position="AFTER_SEQUENCE_NUMBER", sequence_number=third)
        assert [r["sequence_number"] for r in after] == [seq for seq, _ in expected[3:]]
        since = read_shard(api, "s", shard_id, position="AT_TIMESTAMP", timestamp=before.isoformat())
        assert len(since) == len(expected)
    time.sleep(0.01)
    later = datetime.now(UTC).isoformat()  # after every record put
    assert read_shard(api, "s", "shardId-000000000000", position="AT_TIMESTAMP", timestamp=later) == []

    latest = api.get(DS + "/s/shards/shardId-000000000001/records", params={"position": "LATEST"}).json()
    assert latest["records"] == [] and latest["millis_behind_latest"] == 0
    api.post(
        DS + "/s/records",
        json={"records": [{"text": "late", "partition_key": "x", "explicit_hash_key": str(2**128 - 1)}]},
    )
    page = api.get(
        DS + "/s/shards/shardId-000000000001/records", params={"iterator": latest["next_iterator"]}
    )
    assert [base64.b64decode(r["data"]) for r in page.json()["records"]] == [b"late"]
    assert page.json()["child_shards"] is None


def test_bad_input_is_problem_json(api: httpx.Client) -> None:
    api.post(DS, json={"name": "s", "shard_count": 1})
    problem(api.post(DS, json={"name": "bad name!", "shard_count": 1}), 400)
    problem(api.post(DS, json={"name": "x", "shard_count": 0}), 400)
    problem(api.post(DS, content=b'{"name": "x",', headers={"content-type": "application/json"}), 400)
    problem(
        api.post(DS + "/s/records", json={"records": [{"data": "not base64!", "partition_key": "a"}]}), 400
    )
    problem(api.post(DS + "/s/records", json={"records": [{"partition_key": "a"}]}), 400)
    problem(
        api.post(DS + "/s/records", json={"records": [{"text": "x", "data": "eA==", "partition_key": "a"}]}),
        400,
    )
    too_many = {"records": [{"text": "x", "partition_key": "a"}] * 501}
    problem(api.post(DS + "/s/records", json=too_many), 400)
    problem(api.post(DS + "/s/records", json={"records": []}), 400)
    problem(
        api.post(
            DS + "/s/records",
            json={"records": [{"text": "x", "partition_key": "a", "explicit_hash_key": "-1"}]},
        ),
        400,
    )
    oversized = {
        "records": [{"data": base64.b64encode(bytes(1024 * 1024 + 1)).decode(), "partition_key": "a"}]
    }
    problem(api.post(DS + "/s/records", json=oversized), 400)
    problem(api.post(DS + "/nope/records", json={"records": [{"text": "x", "partition_key": "a"}]}), 404)
    problem(api.get(DS + "/s/shards/shardId-000000000009/records"), 404)
    problem(api.get(DS + "/s/shards/shardId-000000000000/records", params={"iterator": "forged"}), 400)
    problem(
        api.get(DS + "/s/shards/shardId-000000000000/records", params={"position": "AT_SEQUENCE_NUMBER"}), 400
    )
    problem(api.get(DS + "/s/shards/shardId-000000000000/records", params={"position": "SOMEWHERE"}), 400)
    # nothing above was stored
    assert read_shard(api, "s", "shardId-000000000000") == []


def test_openapi_documents_the_routes(ds_server: RunningServer) -> None:
    spec = httpx.get(ds_server.url + "/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/v1/datastreams"]) == {"get", "post"}
    assert set(paths["/v1/datastreams/{name}"]) == {"get", "delete"}
    assert "post" in paths["/v1/datastreams/{name}/records"]
    read = paths["/v1/datastreams/{name}/shards/{shard_id}/records"]["get"]
    assert {p["name"] for p in read["parameters"]} >= {"position", "sequence_number", "timestamp", "iterator"}
    schemas = spec["components"]["schemas"]
    assert {"CreateDataStream", "DataStreamDetail", "PutRecordsResult", "RecordsPage"} <= set(schemas)
