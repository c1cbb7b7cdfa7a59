"""Must-show 5: /metrics, read with prometheus-client's parser, counts exactly what two analyzers did (one
good model, one failing); the Grafana dashboard's analyzer panels query only series that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.analyzers.conftest import (
    analyzer,
    client,
    create_analyzer,
    listed,
    producer,
    records,
    register_model,
    start,
    wait_until,
)
from tests.conftest import RunningServer
from tests.models.metrics_scrape import Scrape
from tests.models.test_kserve_kind import SPEC
from tests.models.test_onnx_kind import upload
from videolens.services.analyzers.session import WORKER

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "videolens.json"


def test_metrics_count_frames_latencies_errors_and_leases(
    server: RunningServer, people_endpoint: tuple, centerface_onnx: bytes, pedestrians: Path
) -> None:
    endpoint, behaviour = people_endpoint
    behaviour.fail_always = True
    kvs, kinesis = client("kinesisvideo", server.url), client("kinesis", server.url)
    kvs.create_stream(StreamName="metered", DataRetentionInHours=24)
    kinesis.create_stream(StreamName="metered-out", ShardCount=1)
    assert upload(server, "cf-metrics", centerface_onnx, SPEC).status_code == 201
    register_model(
        server, "broken", "http", url=endpoint.url + "/invocations", retries=0, breaker_failures=1000
    )
    before = Scrape.of(server.url)
    for name, model in (("m-good", "cf-metrics"), ("m-bad", "broken")):
        create_analyzer(
            server,
            name=name,
            model=model,
            streams=["metered"],
            sampling={"key_frames": True},
            output={"data_stream": "metered-out"},
        )
        start(server, name)
    wait_until(
        lambda: all(analyzer(server, n)["stream_states"][0]["lease_owner"] for n in ("m-good", "m-bad")),
        20,
        "the server's engine took no lease",
    )
    leases = Scrape.of(server.url).value("videolens_analyzer_leases_held", worker=WORKER)
    assert leases - before.value("videolens_analyzer_leases_held", worker=WORKER) == 2

    put = kvs.get_data_endpoint(StreamName="metered", APIName="PUT_MEDIA")["DataEndpoint"]
    assert producer(put, pedestrians, "metered", gop=30).wait(60) == 0

    def finished() -> bool:
        # the last fragment may be stored a moment after the producer exits: count what is listed now
        n = len(listed(server, "metered"))
        done = [analyzer(server, a)["stream_states"][0]["fragments_done"] for a in ("m-good", "m-bad")]
        return done == [n, n]

    wait_until(finished, 90, "the analyzers did not finish the stream")
    n = len(listed(server, "metered"))
    s = Scrape.of(server.url)
    good, bad = {"analyzer": "m-good", "stream": "metered"}, {"analyzer": "m-bad", "stream": "metered"}
    published = [d for d in records(kinesis, "metered-out") if d["analyzer"] == "m-good"]
    assert len(published) == n  # one key frame a fragment
    assert not [d for d in records(kinesis, "metered-out") if d["analyzer"] == "m-bad"]
    assert s.value("videolens_analyzer_fragments_total", **good) == n
    assert s.value("videolens_analyzer_fragments_total", **bad) == n
    assert s.value("videolens_analyzer_frames_analysed_total", **good) == n
    assert s.value("videolens_analyzer_records_published_total", **good) == n
    assert s.value("videolens_analyzer_frames_analysed_total", **bad) == 0
    assert s.value("videolens_analyzer_frames_skipped_total", **good) == 0
    assert s.value("videolens_analyzer_errors_total", **good) == 0
    assert s.value("videolens_analyzer_errors_total", **bad, reason="model-error") == n
    assert behaviour.calls == n
    assert s.value("videolens_analyzer_model_latency_seconds_count", analyzer="m-good") == n
    assert s.value("videolens_analyzer_publish_latency_seconds_count", analyzer="m-good") == n
    assert s.value("videolens_analyzer_publish_latency_seconds_count", analyzer="m-bad") == n
    assert 0 < s.value("videolens_analyzer_publish_latency_seconds_sum", analyzer="m-good") < 60 * n
    assert s.value("videolens_analyzer_lag_seconds", **good) > 0
    # the model's own series agree: the same n invocations
    assert s.value("videolens_model_invocations_total", model="cf-metrics") == n
    state = analyzer(server, "m-bad")["stream_states"][0]
    assert state["errors"] == n and state["last_error"].startswith("model-error: ")

    # stopping gives the leases back
    for name in ("m-good", "m-bad"):
        assert httpx.post(f"{server.url}/v1/analyzers/{name}/stop", timeout=10).status_code == 204
    wait_until(
        lambda: (
            Scrape.of(server.url).value("videolens_analyzer_leases_held", worker=WORKER)
            == before.value("videolens_analyzer_leases_held", worker=WORKER)
        ),
        20,
        "leases still held after stop",
    )
    assert analyzer(server, "m-good")["stream_states"][0]["status"] == "STOPPED"

    # the dashboard's analyzer panels: valid panels whose every series is exposed, with samples now
    doc = json.loads(DASHBOARD.read_text())
    ours = [p for p in doc["panels"] if p["type"] != "row" and "analyzer" in json.dumps(p.get("targets"))]
    assert len(ours) == 6
    referenced = {
        name for p in ours for t in p["targets"] for name in re.findall(r"\b(videolens_[a-z_]+)\b", t["expr"])
    }
    families = {f for f in s.families if f.startswith("videolens_analyzer_") and not f.endswith("_created")}
    assert {r for r in referenced if r.startswith("videolens_analyzer_")} == referenced
    assert all(any(r == f or r.startswith(f + "_") for r in referenced) for f in families), families
    for name in referenced:
        assert s.exposes(name), name
        assert any(sample.name == name or sample.name.startswith(name) for sample in s.samples), name
