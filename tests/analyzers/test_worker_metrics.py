"""A worker process serves the metrics of what it runs (opt-in port), and refuses to in secure mode."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port


def _worker(tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "videolens.cli", "worker"],
        env={**os.environ, "VIDEOLENS_DATA_DIR": str(tmp_path / "data"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_worker_serves_its_own_metrics_on_the_configured_port(tmp_path: Path) -> None:
    port = free_port()
    proc = _worker(tmp_path, VIDEOLENS_WORKER_METRICS_PORT=str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "the worker's metrics port never opened"
                time.sleep(0.3)
        families = {f.name: f for f in text_string_to_metric_families(text)}
        # the live engines of this worker report their leases under their own owner (host:pid:id)
        leases = families["videolens_processor_leases_held"].samples
        owners = {s.labels["worker"] for s in leases}
        assert owners and all(f":{proc.pid}:" in o for o in owners), owners
        assert all(s.value == 0 for s in leases)
        assert "videolens_analyzer_model_latency_seconds" in families
        assert "process_resident_memory_bytes" in families
    finally:
        proc.terminate()
        proc.wait(30)


def test_in_secure_mode_the_unauthenticated_listener_stays_closed(tmp_path: Path) -> None:
    port = free_port()
    proc = _worker(tmp_path, VIDEOLENS_WORKER_METRICS_PORT=str(port), VIDEOLENS_AUTH_MODE="secure")
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        seen = ""
        while "metrics not served" not in seen:
            assert time.monotonic() < deadline, seen
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        assert "VIDEOLENS_METRICS_PUBLIC=true" in seen
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            raise AssertionError("the metrics port answered in secure mode")
        except httpx.TransportError:
            pass
    finally:
        proc.terminate()
        proc.wait(30)
