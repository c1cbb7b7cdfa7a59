"""Must-show 3: two `videolens jobs worker` processes, three streams; SIGKILL the holder of one stream's
lease mid-stream: the other worker takes it over, every fragment of every stream gets its records, and
only the fragment in flight at the kill is analysed twice.

The server runs no analyzers (analyzer_slots=0); the workers share its PostgreSQL store, blob directory
and Redis data-stream log. Worker B runs one unit at most and starts first (it takes one stream), worker
A runs three (it takes the other two, and B's after the kill).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
from videolens.container import Container
from videolens.vision.models import ModelRegistry

LEASE_S = 3.0
STREAMS = ("north", "south", "west")


@pytest.fixture
def shared(
    tmp_path: Path, postgres_url: str, models: ModelRegistry
) -> Iterator[tuple[RunningServer, dict[str, str]]]:
    prefix = f"vl-analyzers-{uuid.uuid4().hex[:8]}:"
    env = {
        "VIDEOLENS_DATA_DIR": str(tmp_path / "data"),
        "VIDEOLENS_DATABASE_URL": postgres_url,
        "VIDEOLENS_DATASTREAMS_URL": f"redis://127.0.0.1:6379/0?prefix={prefix}",
        "VIDEOLENS_PROCESSOR_LEASE_SECONDS": str(LEASE_S),
        "VIDEOLENS_PROCESSOR_SLOTS": "0",
        "VIDEOLENS_JOB_WORKERS": "0",
    }
    settings = make_settings(
        tmp_path / "data",
        port=free_port(),
        database_url=postgres_url,
        datastreams_url=env["VIDEOLENS_DATASTREAMS_URL"],
        processor_slots=0,
        analyzer_slots=0,
        processor_lease_seconds=LEASE_S,
    )
    container = Container(settings, models=models)
    server = RunningServer(container).start()
    yield server, env
    server.stop()
    container.close()


def _worker(env: dict[str, str], slots: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "videolens.cli", "jobs", "worker"],
        env={**os.environ, **env, "VIDEOLENS_ANALYZER_SLOTS": str(slots)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _owners(server: RunningServer) -> dict[str, str | None]:
    return {s["stream"]: s["lease_owner"] for s in analyzer(server, "gates")["stream_states"]}


def _pid(owner: str | None) -> int | None:
    return None if owner is None else int(owner.split(":")[1])


def test_sigkill_of_a_worker_moves_its_leases(
    shared: tuple[RunningServer, dict[str, str]], centerface_onnx: bytes, pedestrians: Path
) -> None:
    server, env = shared
    kvs, kinesis = client("kinesisvideo", server.url), client("kinesis", server.url)
    for name in STREAMS:
        kvs.create_stream(StreamName=name, DataRetentionInHours=24)
    kinesis.create_stream(StreamName="gate-faces", ShardCount=2)
    assert upload(server, "centerface", centerface_onnx, SPEC).status_code == 201
    create_analyzer(
        server,
        name="gates",
        model="centerface",
        streams=list(STREAMS),
        sampling={"every_n_frames": 10},
        output={"data_stream": "gate-faces"},
    )
    workers: list[subprocess.Popen[bytes]] = []
    producers: list[subprocess.Popen[bytes]] = []
    try:
        b = _worker(env, 1)
        workers.append(b)
        start(server, "gates")
        wait_until(lambda: b.pid in {_pid(o) for o in _owners(server).values()}, 60, "worker B took nothing")
        a = _worker(env, 3)
        workers.append(a)
        wait_until(lambda: all(_owners(server).values()), 60, "worker A did not take the other streams")
        owners = _owners(server)
        victim_stream = next(s for s, o in owners.items() if _pid(o) == b.pid)
        assert sorted(_pid(o) for o in owners.values()) == sorted([a.pid, a.pid, b.pid])

        put = kvs.get_data_endpoint(StreamName="north", APIName="PUT_MEDIA")["DataEndpoint"]
        producers = [producer(put, pedestrians, s, gop=30, scale="320:180") for s in STREAMS]

        def victim_fragments() -> int:
            return len(
                {
                    d["fragmentNumber"]
                    for d in records(kinesis, "gate-faces")
                    if d["streamName"] == victim_stream
                }
            )

        wait_until(lambda: victim_fragments() >= 3, 60, "the victim published nothing")
        b.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        wait_until(
            lambda: _pid(_owners(server)[victim_stream]) == a.pid,
            LEASE_S + 3,
            "no take-over within the lease",
        )
        took_over = time.monotonic() - killed
        assert all(p.wait(60) == 0 for p in producers)
        numbers = {s: set(listed(server, s)) for s in STREAMS}
        assert all(len(n) >= 8 for n in numbers.values())

        def complete() -> list[dict[str, Any]]:
            for st in STREAMS:
                numbers[st] = set(listed(server, st))
            docs = records(kinesis, "gate-faces")
            have = {(d["streamName"], d["fragmentNumber"]) for d in docs}
            return docs if all((s, n) in have for s in STREAMS for n in numbers[s]) else []

        docs = wait_until(complete, 90, "a fragment has no records after the take-over")
        copies = Counter((d["streamName"], d["fragmentNumber"], d["frameIndex"]) for d in docs)
        doubled = {(s, n) for (s, n, _), c in copies.items() if c > 1}
        # duplicates only for the fragment the victim had in flight (published, not yet checkpointed)
        assert len(doubled) <= 1 and all(s == victim_stream for s, _ in doubled), doubled
        assert all(c <= 2 for c in copies.values())
        # every fragment of 30 frames has its frames 0, 10 and 20
        for s in STREAMS:
            frames = Counter(n for (st, n, _), _c in copies.items() if st == s)
            assert sum(1 for n in numbers[s] if frames[n] == 3) >= len(numbers[s]) - 1, frames
        assert all(_pid(o) == a.pid for o in _owners(server).values())
        print(json.dumps({"take_over_s": round(took_over, 2), "duplicated_fragments": len(doubled)}))
    finally:
        for p in producers:
            if p.poll() is None:
                p.kill()
        for w in workers:
            if w.poll() is None:
                w.terminate()
                w.wait(20)
