"""`videolens datastreams ...`: in-process on a data directory (both backends), and `tail --endpoint`
as a real process following a live server through a split, like `kcat -C`."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import RunningServer
from videolens.cli import app
from videolens.runtime.settings import Settings


@pytest.fixture
def cli(ds_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("VIDEOLENS_DATA_DIR", str(ds_settings.data_dir))
    monkeypatch.setenv("VIDEOLENS_DATASTREAMS_URL", ds_settings.datastreams_url)
    monkeypatch.setenv("VIDEOLENS_LOG_JSON", "false")
    return CliRunner()


def run(cli: CliRunner, *args: str, input: str | None = None, code: int = 0) -> str:  # noqa: A002
    result = cli.invoke(app, ["datastreams", *args], input=input)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stdout


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_create_put_tail_describe_delete(cli: CliRunner, tmp_path: Path) -> None:
    created = json.loads(run(cli, "create", "events", "--shards", "3", "--json"))
    assert created == {"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/events"}
    assert [s["name"] for s in json.loads(run(cli, "list", "--json"))] == ["events"]

    put = lines(run(cli, "put", "events", "one", "two", "-k", "cam-1"))
    assert len(put) == 2 and put[0]["shard_id"] == put[1]["shard_id"]
    assert int(put[1]["sequence_number"]) > int(put[0]["sequence_number"])
    (tmp_path / "more.txt").write_text("three\nfour\n")
    assert len(lines(run(cli, "put", "events", "--file", str(tmp_path / "more.txt"), "-k", "cam-1"))) == 2
    assert len(lines(run(cli, "put", "events", "-f", "-", input="five\nsix\n"))) == 2

    tailed = lines(run(cli, "tail", "events", "--from", "trim-horizon", "--no-follow"))
    assert sorted(d["text"] for d in tailed) == ["five", "four", "one", "six", "three", "two"]
    cam = [d for d in tailed if d["partition_key"] == "cam-1"]
    assert [d["text"] for d in cam] == ["one", "two", "three", "four"]  # per-key order
    assert all(base64.b64decode(d["data"]).decode() == d["text"] for d in tailed)
    assert {d["sequence_number"] for d in cam[:2]} == {p["sequence_number"] for p in put}
    arrival = datetime.fromisoformat(tailed[0]["arrival"])
    assert abs(arrival.timestamp() - time.time()) < 60

    # the first two records with a checkpoint file, then exactly the rest
    ckpt = tmp_path / "tail.json"
    first = lines(
        run(cli, "tail", "events", "--from", "trim-horizon", "--count", "2", "--checkpoint", str(ckpt))
    )
    rest = lines(
        run(cli, "tail", "events", "--from", "trim-horizon", "--no-follow", "--checkpoint", str(ckpt))
    )
    assert len(first) == 2 and len(rest) == 4
    assert sorted(d["text"] for d in first + rest) == sorted(d["text"] for d in tailed)

    assert lines(run(cli, "tail", "events", "--from", datetime.now(UTC).isoformat(), "--no-follow")) == []
    assert lines(run(cli, "tail", "events", "--no-follow")) == []  # latest

    described = json.loads(run(cli, "describe", "events"))
    assert described["open_shard_count"] == 3 and len(described["shards"]) == 3
    assert described["shards"][2]["hash_key_range"][1] == str(2**128 - 1)
    assert "deleted events" in run(cli, "delete", "events")
    assert run(cli, "list", "--json").strip() == "[]"


def test_errors_are_messages_with_exit_2(cli: CliRunner) -> None:
    run(cli, "create", "s")
    for args in (
        ["create", "s"],
        ["describe", "nope"],
        ["put", "nope", "x"],
        ["put", "s"],
        ["tail", "nope", "--no-follow"],
        ["tail", "s", "--from", "yesterday"],
        ["create", "bad name!"],
        ["delete", "nope"],
    ):
        result = cli.invoke(app, ["datastreams", *args])
        assert result.exit_code == 2, (args, result.output)
        assert "error:" in result.output and "Traceback" not in result.output


def test_tail_endpoint_follows_live_records_through_a_split(ds_server: RunningServer, kinesis: Any) -> None:
    kinesis.create_stream(StreamName="live", ShardCount=1)
    kinesis.put_record(StreamName="live", PartitionKey="k", Data=b"before")
    time.sleep(0.05)
    since = datetime.now(UTC).isoformat()  # "before" is older: not shown
    tail = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "videolens"),
            "datastreams",
            "tail",
            "live",
            "--endpoint",
            ds_server.url,
            "--from",
            since,
            "--count",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"},
    )
    try:
        time.sleep(1)  # records come while the tail is starting and after: --from covers both
        sent = []
        for i in range(30):
            kinesis.put_record(StreamName="live", PartitionKey=f"k{i % 5}", Data=f"a{i}".encode())
            sent.append((f"k{i % 5}", f"a{i}"))
        kinesis.split_shard(
            StreamName="live", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
        )
        for i in range(30):
            kinesis.put_record(StreamName="live", PartitionKey=f"k{i % 5}", Data=f"b{i}".encode())
            sent.append((f"k{i % 5}", f"b{i}"))
        out, err = tail.communicate(timeout=60)
    finally:
        tail.kill()
    assert tail.returncode == 0, err
    got = lines(out)
    assert sorted(d["text"] for d in got) == sorted(t for _, t in sent)  # exactly once, "before" not shown
    for key in {k for k, _ in sent}:
        assert [d["text"] for d in got if d["partition_key"] == key] == [t for k, t in sent if k == key]
    assert {d["shard_id"] for d in got} == {
        "shardId-000000000000",
        "shardId-000000000001",
        "shardId-000000000002",
    }
