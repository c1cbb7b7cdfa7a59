"""REST /v1/analyzers and the CLI: shapes, bad input as problem+json, tag filters that pick up a stream
created later, and the `model-analysis` job type on a stored video (JSON lines and data-stream out)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.analyzers.conftest import (
    analyzer,
    client,
    create_analyzer,
    listed,
    producer,
    records,
    start,
    wait_until,
)
from tests.conftest import RunningServer, free_port, make_settings
from tests.models.test_kserve_kind import SPEC
from tests.models.test_onnx_kind import upload
from videolens.cli import app
from videolens.runtime.settings import Settings

REFRESH_S = 1.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", port=free_port(), analyzer_refresh_seconds=REFRESH_S)


def _problem(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    doc: dict[str, Any] = resp.json()
    if code is not None:
        assert doc["type"].endswith(code), doc
    return doc


def _setup(server: RunningServer, centerface_onnx: bytes) -> tuple[Any, Any]:
    kvs, kinesis = client("kinesisvideo", server.url), client("kinesis", server.url)
    kvs.create_stream(StreamName="cam1", DataRetentionInHours=24)
    kinesis.create_stream(StreamName="out", ShardCount=1)
    assert upload(server, "cf", centerface_onnx, SPEC).status_code == 201
    return kvs, kinesis


def test_rest_shapes_transitions_and_bad_input(server: RunningServer, centerface_onnx: bytes) -> None:
    _setup(server, centerface_onnx)
    url = f"{server.url}/v1/analyzers"
    good = {"name": "a1", "model": "cf", "streams": ["cam1"], "output": {"data_stream": "out"}}
    # malformed and invalid bodies
    _problem(httpx.post(url, content=b'{"name": ', headers={"content-type": "application/json"}), 400)
    _problem(httpx.post(url, json={**good, "streams": []}), 400)
    _problem(httpx.post(url, json={**good, "sampling": {"fps": 2, "every_n_frames": 3}}), 400)
    _problem(httpx.post(url, json={**good, "max_in_flight": 0}), 400)
    _problem(httpx.post(url, json={**good, "name": "bad name!"}), 400)
    _problem(httpx.post(url, json={**good, "colour": "red"}), 400)
    _problem(httpx.post(url, json={**good, "model": "ghost"}), 404, "model-not-found")
    assert "cam9" in _problem(httpx.post(url, json={**good, "streams": ["cam9"]}), 400)["detail"]
    assert (
        "nowhere"
        in _problem(httpx.post(url, json={**good, "output": {"data_stream": "nowhere"}}), 400)["detail"]
    )

    created = create_analyzer(server, **good, sampling={"fps": 2.0}, tag_filters=[{"key": "k", "value": "v"}])
    assert created["name"] == "a1" and created["status"] == "STOPPED" and created["stream_states"] == []
    assert created["sampling"] == {"fps": 2.0} and created["max_in_flight"] == 20
    assert created["timeout_ms"] == 20000 and created["lag_policy"] == "catch-up"
    _problem(httpx.post(url, json=good), 409, "analyzer-in-use")
    _problem(httpx.get(f"{url}/ghost"), 404, "analyzer-not-found")
    _problem(httpx.post(f"{url}/ghost/start"), 404, "analyzer-not-found")
    _problem(httpx.post(f"{url}/a1/stop"), 409, "analyzer-in-use")

    start(server, "a1")
    _problem(httpx.post(f"{url}/a1/start"), 409, "analyzer-in-use")
    _problem(httpx.delete(f"{url}/a1"), 409, "analyzer-in-use")
    state = wait_until(
        lambda: [s for s in analyzer(server, "a1")["stream_states"] if s["status"] == "RUNNING"],
        20,
        "not RUNNING",
    )[0]
    assert state["stream"] == "cam1" and state["lease_owner"] == server.container.analyzer_engine.owner
    assert set(state) == {
        "stream", "status", "status_message", "lease_owner", "checkpoint_fragment", "lag_ms", "lag_fragments",
        "fragments_done", "fragments_skipped", "frames_analysed", "frames_skipped", "records_out", "errors",
        "last_error",
    }  # fmt: skip
    assert httpx.post(f"{url}/a1/stop").status_code == 204
    wait_until(lambda: analyzer(server, "a1")["stream_states"][0]["status"] == "STOPPED", 20, "not STOPPED")
    assert analyzer(server, "a1")["status"] == "STOPPED"

    for i in range(2, 5):
        create_analyzer(server, **{**good, "name": f"a{i}"})
    page = httpx.get(url, params={"max_results": 2}).json()
    assert [a["name"] for a in page["analyzers"]] == ["a1", "a2"] and page["next_token"]
    rest = httpx.get(url, params={"next_token": page["next_token"]}).json()
    assert [a["name"] for a in rest["analyzers"]] == ["a3", "a4"] and rest["next_token"] is None
    _problem(httpx.get(url, params={"next_token": "garbage"}), 400)
    assert httpx.delete(f"{url}/a1").status_code == 204
    _problem(httpx.get(f"{url}/a1"), 404)


def test_a_stream_created_later_with_matching_tags_joins(
    server: RunningServer, centerface_onnx: bytes, pedestrians: Path
) -> None:
    kvs, kinesis = _setup(server, centerface_onnx)
    create_analyzer(
        server,
        name="lobbies",
        model="cf",
        tag_filters=[{"key": "site", "value": "lobby"}, {"key": "floor", "value": "1"}],
        sampling={"key_frames": True},
        output={"data_stream": "out"},
    )
    start(server, "lobbies")
    assert analyzer(server, "lobbies")["stream_states"] == []
    kvs.create_stream(StreamName="half-match", Tags={"site": "lobby", "floor": "2"})
    kvs.create_stream(StreamName="lobby-east", Tags={"site": "lobby", "floor": "1"})
    created = time.monotonic()
    # stated join time: analyzer_refresh_seconds + processor_poll_seconds (+ one DB round trip)
    limit = REFRESH_S + server.container.settings.processor_poll_seconds + 1.0
    wait_until(
        lambda: [s for s in analyzer(server, "lobbies")["stream_states"] if s["lease_owner"]],
        limit,
        "the tagged stream did not join in time",
        poll=0.05,
    )
    joined = time.monotonic() - created
    assert joined <= limit
    assert [s["stream"] for s in analyzer(server, "lobbies")["stream_states"]] == ["lobby-east"]
    put = kvs.get_data_endpoint(StreamName="lobby-east", APIName="PUT_MEDIA")["DataEndpoint"]
    assert producer(put, pedestrians, "lobby-east", gop=30, seconds=3).wait(30) == 0
    docs = wait_until(
        lambda: (
            (d := records(kinesis, "out"))
            and {x["fragmentNumber"] for x in d} == set(listed(server, "lobby-east"))
            and d
        ),
        30,
        "the joined stream has no records",
    )
    assert {d["streamName"] for d in docs} == {"lobby-east"} and len(docs) == len(
        listed(server, "lobby-east")
    ) == 3


def test_model_analysis_job_on_a_stored_video(
    server: RunningServer, centerface_onnx: bytes, pedestrians: Path
) -> None:
    _, kinesis = _setup(server, centerface_onnx)
    s3 = client("s3", server.url)
    s3.create_bucket(Bucket="archive")
    s3.put_object(Bucket="archive", Key="show.mp4", Body=pedestrians.read_bytes())
    jobs = f"{server.url}/v1/jobs"
    bad = httpx.post(
        jobs, json={"type": "model-analysis", "bucket": "archive", "key": "show.mp4", "params": {}}
    )
    _problem(bad, 400)
    ghost = {"type": "model-analysis", "bucket": "archive", "key": "show.mp4", "params": {"model": "ghost"}}
    _problem(httpx.post(jobs, json=ghost), 404)
    ids = []
    for output in ({"bucket": "archive", "key": "show.jsonl"}, {"data_stream": "out"}):
        params = {"model": "cf", "sampling": {"fps": 1.0}, "output": output}
        resp = httpx.post(
            jobs, json={"type": "model-analysis", "bucket": "archive", "key": "show.mp4", "params": params}
        )
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["job_id"])
    done = [
        wait_until(
            lambda i=i: (j := httpx.get(f"{jobs}/{i}").json())["status"] in ("SUCCEEDED", "FAILED") and j,
            120,
            "job",
        )
        for i in ids
    ]
    assert [j["status"] for j in done] == ["SUCCEEDED", "SUCCEEDED"], done
    assert done[0]["output"]["frames_analysed"] == 10  # one a second over 9.2 s: t = 0, 1, ..., 9
    lines = [
        json.loads(x) for x in s3.get_object(Bucket="archive", Key="show.jsonl")["Body"].read().splitlines()
    ]
    assert [d["timestampMillis"] // 1000 for d in lines] == list(range(10))
    assert all(d["model"] == "cf" and isinstance(d["output"]["prediction"], list) for d in lines)
    published = records(kinesis, "out")
    assert [d["output"] for d in published] == [d["output"] for d in lines]  # the same model, same frames
    items = httpx.get(f"{jobs}/{ids[0]}/results").json()["items"]
    assert len(items) == 10


def test_analyzers_cli_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, centerface_onnx: bytes
) -> None:
    monkeypatch.setenv("VIDEOLENS_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("VIDEOLENS_LOG_JSON", "false")
    cli = CliRunner()
    onnx_file = tmp_path / "cf.onnx"
    onnx_file.write_bytes(centerface_onnx)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    assert (
        cli.invoke(
            app, ["models", "create", "cf", "-k", "onnx", "-f", str(onnx_file), "--spec", f"@{spec}"]
        ).exit_code
        == 0
    )
    assert cli.invoke(app, ["streams", "create", "cam1"]).exit_code == 0, cli.invoke(
        app, ["streams", "--help"]
    ).output
    assert cli.invoke(app, ["datastreams", "create", "out"]).exit_code == 0
    result = cli.invoke(
        app, ["analyzers", "create", "people", "-m", "cf", "-o", "out", "-s", "cam1", "--every-n-frames", "6"]
    )
    assert result.exit_code == 0, result.output
    described = json.loads(cli.invoke(app, ["analyzers", "describe", "people"]).output)
    assert described["sampling"] == {"every_n_frames": 6} and described["streams"] == ["cam1"]
    assert "people" in cli.invoke(app, ["analyzers", "list"]).output
    assert cli.invoke(app, ["analyzers", "start", "people"]).exit_code == 0
    result = cli.invoke(app, ["analyzers", "delete", "people"])
    assert result.exit_code == 2 and "stop it first" in result.output
    assert cli.invoke(app, ["analyzers", "stop", "people"]).exit_code == 0
    assert cli.invoke(app, ["analyzers", "delete", "people"]).exit_code == 0
    result = cli.invoke(app, ["analyzers", "create", "x", "-m", "cf", "-o", "out", "--tag", "novalue"])
    assert result.exit_code == 2 and "KEY=VALUE" in result.output
    result = cli.invoke(app, ["analyzers", "create", "x", "-m", "cf", "-o", "out"])
    assert result.exit_code == 2 and "needs streams, tag_filters or both" in result.output
