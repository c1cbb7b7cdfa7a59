"""`/metrics` read by prometheus-client's parser after real traffic, and the Grafana dashboard showing it."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import REPO_ROOT, RunningServer
from tests.models.conftest import sagemaker_client
from tests.models.metrics_scrape import Scrape
from tests.models.test_http_kind import invoke, register
from videolens.container import Container
from videolens.producer import chunks_of, put_media
from videolens.services.jobs.queue import JobQueue

DASHBOARD = REPO_ROOT / "docs" / "grafana" / "videolens.json"


def test_model_and_http_series_count_what_happened(server: RunningServer, city_jpg: bytes) -> None:
    name = f"m{uuid.uuid4().hex[:8]}"  # metrics are per process: a fresh model name starts at zero
    assert register(server, name, "builtin", model="person-detector").status_code == 201
    before = Scrape.of(server.url)
    route = {"route": "/v1/models/{name}/invoke"}
    for _ in range(3):
        assert invoke(server, name, city_jpg).status_code == 200
    assert invoke(server, name, b"not an image").status_code == 400
    sagemaker_client(server.url).invoke_endpoint(EndpointName=name, Body=city_jpg, ContentType="image/jpeg")
    with pytest.raises(ClientError):
        sagemaker_client(server.url).invoke_endpoint(EndpointName="no-such-model", Body=city_jpg)
    after = Scrape.of(server.url)

    labels = {"model": name, "kind": "builtin"}
    assert after.value("videolens_model_invocations_total", **labels) == 5
    assert after.value("videolens_model_errors_total", **labels, code="invalid-image") == 1
    assert after.value("videolens_model_latency_seconds_count", **labels) == 4
    assert after.value("videolens_model_latency_seconds_bucket", **labels, le="+Inf") == 4
    assert after.value("videolens_model_latency_seconds_sum", **labels) > 0
    assert after.value("videolens_model_in_flight", model=name) == 0
    assert after.value("videolens_models", kind="builtin") == 1

    def delta(metric: str, **want: str) -> float:
        return after.value(metric, **want) - before.value(metric, **want)

    assert delta("videolens_http_requests_total", **route, method="POST", status="200") == 3
    assert delta("videolens_http_requests_total", **route, method="POST", status="400") == 1
    assert delta("videolens_http_request_duration_seconds_count", **route, method="POST") == 4
    aws = {"route": "aws:sagemaker-runtime.InvokeEndpoint", "method": "POST"}
    assert delta("videolens_http_requests_total", **aws, status="200") == 1
    assert delta("videolens_http_requests_total", **aws, status="400") == 1
    assert delta("videolens_http_requests_total", route="/metrics", method="GET", status="200") == 1
    httpx.get(f"{server.url}/no/such/{uuid.uuid4().hex}")
    assert Scrape.of(server.url).value("videolens_http_requests_total", route="unmatched", status="404") >= 1
    assert after.value("process_resident_memory_bytes") > 0


def test_jobs_by_status_come_from_the_store(container: Container, hamilton_clip: Path) -> None:
    container.storage.create_bucket("videos")
    container.storage.put_object_bytes("videos", "clip.mp4", hamilton_clip.read_bytes())
    job = container.jobs.start("face-detection", "videos", "clip.mp4")  # no worker runs in this container
    scrape = Scrape(container.telemetry.exposition().decode())
    assert scrape.value("videolens_jobs", type="face-detection", status="QUEUED") == 1
    assert scrape.value("videolens_jobs", status="RUNNING") == 0
    claimed = JobQueue(container.db, 30).claim("worker-1")
    assert claimed is not None and claimed[0] == job.job_id
    scrape = Scrape(container.telemetry.exposition().decode())
    assert scrape.value("videolens_jobs", type="face-detection", status="RUNNING") == 1
    assert scrape.value("videolens_jobs", status="QUEUED") == 0
    container.jobs.cancel(job.job_id)
    scrape = Scrape(container.telemetry.exposition().decode())
    assert scrape.value("videolens_jobs", type="face-detection", status="CANCELLED") == 1


def test_ingest_series_count_the_persisted_fragments(server: RunningServer, hamilton_clip: Path) -> None:
    import subprocess

    stream = f"cam-{uuid.uuid4().hex[:8]}"
    server.container.streams.create_stream(stream, retention_hours=24)
    mkv = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(hamilton_clip),
            "-c",
            "copy",
            "-f",
            "matroska",
            "-live",
            "1",
            "pipe:1",
        ],
        check=True,
        capture_output=True,
    ).stdout
    result = put_media(server.url, chunks_of(mkv), stream_name=stream)
    persisted = result.events("PERSISTED")
    assert persisted
    fragments, _ = server.container.streams.list_fragments(
        name=stream, arn=None, kind=None, start=None, end=None, max_results=1000, next_token=None
    )
    scrape = Scrape.of(server.url)
    assert scrape.value("videolens_ingest_sessions_total", stream=stream) == 1
    assert scrape.value("videolens_ingest_fragments_total", stream=stream) == len(fragments) == len(persisted)
    assert scrape.value("videolens_ingest_fragment_bytes_total", stream=stream) == sum(
        f.size for f in fragments
    )
    # the unsigned producer's POST /putMedia (ffmpeg, GStreamer) counts under its route template
    assert scrape.value("videolens_http_requests_total", route="/putMedia", status="200") >= 1


def test_the_grafana_dashboard_loads_and_shows_only_exposed_series(server: RunningServer) -> None:
    doc = json.loads(DASHBOARD.read_text())
    assert doc["title"] == "videolens" and doc["uid"]
    assert isinstance(doc["schemaVersion"], int) and doc["schemaVersion"] >= 36
    assert any(v["type"] == "datasource" and v["query"] == "prometheus" for v in doc["templating"]["list"])
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    scrape = Scrape.of(server.url)
    referenced: set[str] = set()
    graphs = [p for p in doc["panels"] if p["type"] != "row"]
    assert len(graphs) >= 20
    for panel in doc["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"][
            "w"
        ] <= 24
    for panel in graphs:
        assert panel["type"] in ("timeseries", "stat", "gauge", "table") and panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["refId"] and target["expr"]
            assert target["expr"].count("(") == target["expr"].count(")")
            referenced |= set(re.findall(r"\b((?:videolens|process)_[a-z_]+)\b", target["expr"]))
    missing = sorted(n for n in referenced if not scrape.exposes(n))
    assert not missing, f"the dashboard queries series /metrics does not expose: {missing}"
    # every family videolens defines is on the dashboard
    ours = {n for n in scrape.families if n.startswith("videolens_") and not n.endswith("_created")}
    shown = {n for n in ours if any(r == n or r.startswith(n + "_") for r in referenced)}
    assert shown == ours, sorted(ours - shown)
