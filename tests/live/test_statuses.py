"""A started processor with no worker to run it: STARTING, and Describe says why (docs/live.md, Statuses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer, free_port, make_settings
from tests.live.test_flow import _create, _setup, _wait_status
from videolens.container import Container
from videolens.services.live.engine import LiveEngine
from videolens.services.live.service import NO_WORKER
from videolens.vision.models import ModelRegistry


@pytest.fixture
def no_worker_server(tmp_path: Path, models: ModelRegistry) -> Iterator[RunningServer]:
    """A server that runs no processors itself (VIDEOLENS_PROCESSOR_SLOTS=0)."""
    container = Container(
        make_settings(tmp_path / "data", port=free_port(), processor_slots=0), models=models
    )
    server = RunningServer(container).start()
    yield server
    server.stop()
    container.close()


def test_started_with_no_worker_says_so_then_runs_when_one_comes(
    no_worker_server: RunningServer, media_dir: Path
) -> None:
    server = no_worker_server
    c = server.container
    rek, _kvs, _kinesis, video_arn, data_arn = _setup(server, media_dir)
    _create(rek, "door", video_arn, data_arn)
    assert c.processors.live_workers() == 0
    rek.start_stream_processor(Name="door")
    described = rek.describe_stream_processor(Name="door")
    assert described["Status"] == "STARTING" and described["StatusMessage"] == NO_WORKER
    rest = httpx.get(f"{server.url}/v1/processors/door", timeout=10).json()
    assert rest["status"] == "STARTING" and rest["status_message"] == NO_WORKER
    # the CLI (a separate process on the same data directory) reports the same
    env = {**os.environ, "VIDEOLENS_DATA_DIR": str(c.settings.data_dir)}
    out = subprocess.run(
        [sys.executable, "-m", "videolens.cli", "processors", "describe", "door"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["Status"] == "STARTING" and doc["StatusMessage"] == NO_WORKER

    # a worker comes up (an engine with slots on the same stores): it takes the processor
    worker = LiveEngine(
        c.settings.model_copy(update={"processor_slots": 1}),
        c.processors,
        c.streams,
        c.datastreams,
        c.live.leases,
    )
    worker.start()
    try:
        assert c.processors.live_workers() == 1
        _wait_status(rek, "door", "RUNNING", timeout=10)
        assert "StatusMessage" not in rek.describe_stream_processor(Name="door")
    finally:
        worker.stop()
    # the worker shut down without a Stop: the processor waits for the next one, and says so
    assert c.processors.live_workers() == 0
    described = rek.describe_stream_processor(Name="door")
    assert described["Status"] == "STARTING" and described["StatusMessage"] == NO_WORKER
    # Stop with nobody holding it: STOPPED at once
    rek.stop_stream_processor(Name="door")
    described = rek.describe_stream_processor(Name="door")
    assert described["Status"] == "STOPPED" and "StatusMessage" not in described
