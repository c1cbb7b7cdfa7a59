"""Must-show 5: SIGKILL of `videolens serve` during a put loop loses no acknowledged record, and
sequence numbers keep increasing after the restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import free_port
from tests.datastreams.conftest import kinesis_client


def _serve(data_dir: Path, port: int, ds_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VIDEOLENS_DATA_DIR": str(data_dir),
        "VIDEOLENS_DATASTREAMS_URL": ds_url,
        "VIDEOLENS_DATASTREAMS_ENFORCE_LIMITS": "false",
        "VIDEOLENS_JOB_WORKERS": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "videolens.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("videolens serve did not start")


def test_sigkill_keeps_every_acknowledged_record(tmp_path: Path, ds_url: str) -> None:
    port = free_port()
    proc = _serve(tmp_path / "data", port, ds_url)
    url = f"http://127.0.0.1:{port}"
    k = kinesis_client(url)
    k.create_stream(StreamName="crash", ShardCount=2)
    acked: list[tuple[str, str, bytes]] = []
    stop = threading.Event()

    def put_loop() -> None:
        i = 0
        while not stop.is_set():
            try:
                if i % 2:
                    r = k.put_record(StreamName="crash", Data=b"p%d" % i, PartitionKey=f"k{i % 7}")
                    acked.append((r["ShardId"], r["SequenceNumber"], b"p%d" % i))
                else:
                    batch = [b"b%d-%d" % (i, j) for j in range(20)]
                    resp = k.put_records(
                        StreamName="crash",
                        Records=[{"Data": d, "PartitionKey": f"k{j}"} for j, d in enumerate(batch)],
                    )
                    for d, rec in zip(batch, resp["Records"], strict=True):
                        if "SequenceNumber" in rec:
                            acked.append((rec["ShardId"], rec["SequenceNumber"], d))
            except (BotoCoreError, ClientError):
                return  # the server died under us: whatever was acknowledged is in `acked`
            i += 1

    thread = threading.Thread(target=put_loop)
    thread.start()
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    stop.set()
    thread.join(30)
    assert len(acked) > 50

    proc = _serve(tmp_path / "data", port, ds_url)
    try:
        k = kinesis_client(url)
        last: dict[str, int] = {}
        stored: dict[bytes, str] = {}
        for shard in ("shardId-000000000000", "shardId-000000000001"):
            it = k.get_shard_iterator(StreamName="crash", ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
                "ShardIterator"
            ]
            while it:
                resp = k.get_records(ShardIterator=it, Limit=10000)
                for r in resp["Records"]:
                    stored[r["Data"]] = r["SequenceNumber"]
                    last[shard] = int(r["SequenceNumber"])
                if not resp["Records"]:
                    break
                it = resp["NextShardIterator"]
        for _shard, seq, data in acked:
            assert stored.get(data) == seq, data
        for shard in last:
            r = k.put_records(
                StreamName="crash",
                Records=[
                    {
                        "Data": b"after",
                        "PartitionKey": "x",
                        "ExplicitHashKey": "0" if shard.endswith("0") else str(2**128 - 1),
                    }
                ],
            )
            assert r["Records"][0]["ShardId"] == shard
            assert int(r["Records"][0]["SequenceNumber"]) > last[shard]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
