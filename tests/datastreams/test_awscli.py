"""Must-show 1 with the AWS CLI: put-record(s) / get-shard-iterator / get-records on a 4-shard stream."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer

AWS = str(Path(sys.executable).with_name("aws"))


def _aws(url: str, tmp_path: Path, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = subprocess.run(
        [AWS, "kinesis", *args, "--endpoint-url", url, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


# the wire is the point here (each CLI call is a process start, slow): the backends run the boto3 suite
@pytest.mark.parametrize("ds_url", ["embedded"], indirect=True)
def test_awscli_round_trip(ds_server: RunningServer, tmp_path: Path) -> None:
    url = ds_server.url
    _aws(url, tmp_path, "create-stream", "--stream-name", "cli", "--shard-count", "4")
    sent: list[tuple[str, bytes, str, str]] = []
    for i in range(6):
        r = _aws(
            url,
            tmp_path,
            "put-record",
            "--stream-name",
            "cli",
            "--partition-key",
            f"k{i % 3}",
            "--data",
            f"one-{i}",
        )
        sent.append((f"k{i % 3}", f"one-{i}".encode(), r["ShardId"], r["SequenceNumber"]))
    entries = [{"Data": f"many-{i}", "PartitionKey": f"k{i % 40}"} for i in range(400)]
    (tmp_path / "batch.json").write_text(json.dumps({"StreamName": "cli", "Records": entries}))
    resp = _aws(url, tmp_path, "put-records", "--cli-input-json", f"file://{tmp_path / 'batch.json'}")
    assert resp["FailedRecordCount"] == 0
    for e, r in zip(entries, resp["Records"], strict=True):
        sent.append((e["PartitionKey"], e["Data"].encode(), r["ShardId"], r["SequenceNumber"]))
    shards = [s["ShardId"] for s in _aws(url, tmp_path, "list-shards", "--stream-name", "cli")["Shards"]]
    assert len(shards) == 4

    def read(sid: str, *how: str) -> list[dict[str, Any]]:
        it = _aws(url, tmp_path, "get-shard-iterator", "--stream-name", "cli", "--shard-id", sid, *how)[
            "ShardIterator"
        ]
        return list(_aws(url, tmp_path, "get-records", "--shard-iterator", it)["Records"])

    got = [r for sid in shards for r in read(sid, "--shard-iterator-type", "TRIM_HORIZON")]
    data = [base64.b64decode(r["Data"]) for r in got]
    assert sorted(data) == sorted(d for _, d, _, _ in sent)
    want: dict[str, list[bytes]] = defaultdict(list)
    for k, d, _, _ in sent:
        want[k].append(d)
    have: dict[str, list[bytes]] = defaultdict(list)
    for r in got:
        have[r["PartitionKey"]].append(base64.b64decode(r["Data"]))
    assert have == want

    # the other iterator types on one shard
    k, d, sid, seq = sent[0]
    mine = [x for x in sent if x[2] == sid]
    at = read(sid, "--shard-iterator-type", "AT_SEQUENCE_NUMBER", "--starting-sequence-number", seq)
    after = read(sid, "--shard-iterator-type", "AFTER_SEQUENCE_NUMBER", "--starting-sequence-number", seq)
    assert [r["SequenceNumber"] for r in at] == [x[3] for x in mine]
    assert [r["SequenceNumber"] for r in after] == [x[3] for x in mine[1:]]
    stamp = at[0]["ApproximateArrivalTimestamp"]
    assert len(
        read(sid, "--shard-iterator-type", "AT_TIMESTAMP", "--timestamp", str(float(stamp) - 1))
    ) == len(mine)
    assert read(sid, "--shard-iterator-type", "LATEST") == []
