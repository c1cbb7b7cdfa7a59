"""Fail-over: two worker processes, one processor; SIGKILL the owner mid-stream, the other takes over.

The server runs no processors (processor_slots=0); two `videolens jobs worker` processes share its
PostgreSQL metadata store, blob directory and Redis data-stream log.
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

import pytest

from tests.conftest import RunningServer, free_port, make_settings
from tests.jobs.synthetic_search import make_search_video
from tests.live.test_flow import _create, _producer, _records, _setup, _wait_status
from videolens.backends.leases import SqlLeaseStore, named_lease_table
from videolens.container import Container
from videolens.services.live.service import lease_key
from videolens.vision.models import ModelRegistry

LEASE_S = 3.0


@pytest.fixture
def shared(
    tmp_path: Path, postgres_url: str, models: ModelRegistry
) -> Iterator[tuple[RunningServer, dict[str, str]]]:
    prefix = f"vl-live-{uuid.uuid4().hex[:8]}:"
    env = {
        "VIDEOLENS_DATA_DIR": str(tmp_path / "data"),
        "VIDEOLENS_DATABASE_URL": postgres_url,
        "VIDEOLENS_DATASTREAMS_URL": f"redis://127.0.0.1:6379/0?prefix={prefix}",
        "VIDEOLENS_PROCESSOR_LEASE_SECONDS": str(LEASE_S),
        "VIDEOLENS_JOB_WORKERS": "0",
    }
    settings = make_settings(
        tmp_path / "data",
        port=free_port(),
        database_url=postgres_url,
        datastreams_url=env["VIDEOLENS_DATASTREAMS_URL"],
        processor_slots=0,
        processor_lease_seconds=LEASE_S,
    )
    container = Container(settings, models=models)
    server = RunningServer(container).start()
    yield server, env
    server.stop()
    container.close()


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "videolens.cli", "jobs", "worker"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_of_the_owner(
    shared: tuple[RunningServer, dict[str, str]], media_dir: Path, tmp_path: Path
) -> None:
    server, env = shared
    video = make_search_video(media_dir, tmp_path / "search.mp4")
    rek, kvs, kinesis, video_arn, data_arn = _setup(server, media_dir)
    workers = [_worker(env), _worker(env)]
    try:
        _create(rek, "door", video_arn, data_arn)
        rek.start_stream_processor(Name="door")
        _wait_status(rek, "door", "RUNNING", timeout=60)
        leases = SqlLeaseStore(server.container.db, named_lease_table(), lease_seconds=LEASE_S)
        endpoint = kvs.get_data_endpoint(StreamName="lobby", APIName="PUT_MEDIA")["DataEndpoint"]
        producer = _producer(endpoint, video, "lobby", time.time())
        # wait until the owner has published a few fragments, then kill it without warning
        deadline = time.monotonic() + 30
        while (
            len(
                {
                    r["InputInformation"]["KinesisVideo"]["FragmentNumber"]
                    for r in _records(kinesis, "matches")
                }
            )
            < 3
        ):
            assert time.monotonic() < deadline
            time.sleep(0.4)  # each poll reads the shard twice; a shard takes 5 reads a second
        state = leases.read(lease_key("door"))
        assert state is not None and state.owner is not None
        owner_pid = int(state.owner.split(":")[1])
        victim = next(w for w in workers if w.pid == owner_pid)
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        while True:
            state = leases.read(lease_key("door"))
            assert state is not None
            if state.owner is not None and int(state.owner.split(":")[1]) != owner_pid:
                break
            assert time.monotonic() - killed_at < LEASE_S + 2.0, "no take-over within the stated time"
            time.sleep(0.05)
        took_over = time.monotonic() - killed_at
        assert producer.wait(60) == 0
        archived = server.container.streams
        deadline = time.monotonic() + 60
        while True:
            numbers = [f.fragment_number for f in archived.fragments_after(None, name="lobby", limit=1000)]
            per_fragment = Counter(
                r["InputInformation"]["KinesisVideo"]["FragmentNumber"] for r in _records(kinesis, "matches")
            )
            if set(per_fragment) >= set(numbers):
                break
            assert time.monotonic() < deadline, "a fragment has no records after the take-over"
            time.sleep(0.3)
        # duplicates only for the fragment in flight: a fragment's records are (frame offset) unique,
        # except one fragment analysed by both workers
        docs = _records(kinesis, "matches")
        offsets: dict[str, Counter[float]] = {}
        for d in docs:
            kv = d["InputInformation"]["KinesisVideo"]
            offsets.setdefault(kv["FragmentNumber"], Counter())[kv["FrameOffsetInSeconds"]] += 1
        doubled = [n for n, c in offsets.items() if max(c.values()) > 1]
        assert len(doubled) <= 1, doubled
        print(json.dumps({"take_over_s": round(took_over, 2), "duplicated_fragments": len(doubled)}))
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
                w.wait(20)
