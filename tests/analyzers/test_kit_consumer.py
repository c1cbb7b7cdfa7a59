"""Must-show 1: the KIT consumer Lambda of issue 14, unchanged, over records an analyzer publishes while
ffmpeg sends a pedestrian video; a real HOG person detector behind a SageMaker-contract endpoint."""

from __future__ import annotations

import base64
import importlib
import io
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import av
import pytest

from tests.analyzers.conftest import (
    analyzer,
    client,
    create_analyzer,
    listed,
    producer,
    raw_records,
    register_model,
    start,
    wait_until,
)
from tests.conftest import RunningServer

#: the loop body as issue 14 prints it; kit_lambda.py must hold it character for character
ISSUE_SNIPPET = """\
        fragment = result['fragmentMetaData']
        frag_id = fragment[17:-1].split(",")[0].split("=")[1]
        srv_ts = datetime.datetime.fromtimestamp(float(fragment[17:-1].split(",")[1].split("=")[1])/1000)
        frame = result['frameMetaData']
        streamName = result['streamName']
        sageMakerOutput = json.loads(base64.b64decode(result['sageMakerOutput']))
        for i in range(5):
            print("detected object: " + object_categories[int(sageMakerOutput['prediction'][i][0])]
                  + ", with probability: " + str(sageMakerOutput['prediction'][i][1]))
        kv = boto3.client('kinesisvideo')
        ep = kv.get_data_endpoint(StreamName=streamName, APIName='GET_MEDIA_FOR_FRAGMENT_LIST')['DataEndpoint']
        kvam = boto3.client('kinesis-video-archived-media', endpoint_url=ep)
        getmedia = kvam.get_media_for_fragment_list(StreamName=streamName, Fragments=[frag_id])
        s3.put_object(Bucket=bucket, Key=streamName + ".webm", Body=getmedia['Payload'].read())
"""  # noqa: E501


def _frames(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_kit_lambda_consumes_the_analyzer_records_unchanged(
    server: RunningServer,
    people_endpoint: tuple,
    pedestrians: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ISSUE_SNIPPET in (Path(__file__).parent / "kit_lambda.py").read_text()
    endpoint, behaviour = people_endpoint
    kvs, kinesis, s3 = (client(n, server.url) for n in ("kinesisvideo", "kinesis", "s3"))
    kvs.create_stream(StreamName="crossing", DataRetentionInHours=24)
    kinesis.create_stream(StreamName="detections", ShardCount=2)
    s3.create_bucket(Bucket="kit-clips")
    register_model(server, "hog-people", "http", url=endpoint.url + "/invocations", content_type="image/jpeg")
    created = create_analyzer(
        server,
        name="crossing-people",
        model="hog-people",
        streams=["crossing"],
        sampling={"every_n_frames": 15},
        output={"data_stream": "detections"},
        max_in_flight=4,
    )
    assert created["status"] == "STOPPED" and created["sampling"] == {"every_n_frames": 15}
    start(server, "crossing-people")

    put = kvs.get_data_endpoint(StreamName="crossing", APIName="PUT_MEDIA")["DataEndpoint"]
    ffmpeg = producer(put, pedestrians, "crossing", gop=30)
    seen_while_sending = False
    while ffmpeg.poll() is None:
        seen_while_sending = seen_while_sending or bool(raw_records(kinesis, "detections"))
        time.sleep(0.5)
    assert ffmpeg.returncode == 0
    assert seen_while_sending, "no record was readable while the video was still being sent"
    numbers = listed(server, "crossing")
    assert len(numbers) >= 8  # 9 s at one fragment a second

    def every_fragment() -> list[dict]:
        numbers[:] = listed(server, "crossing")
        got = raw_records(kinesis, "detections")
        return got if {json.loads(r["Data"])["fragmentNumber"] for r in got} >= set(numbers) else []

    raw = wait_until(every_fragment, 60, "not every fragment has its records")
    docs = [json.loads(r["Data"]) for r in raw]
    # every_n_frames=15 at 30 frames a fragment: frames 0 and 15 of each fragment (the last may be short)
    per_fragment = Counter(d["fragmentNumber"] for d in docs)
    assert all(per_fragment[n] == 2 for n in numbers[:-1]), per_fragment
    assert len(docs) == len({(d["fragmentNumber"], d["frameIndex"]) for d in docs})  # no duplicates
    assert behaviour.calls == len(docs)
    for d in docs:
        meta = d["fragmentMetaData"]
        assert meta.startswith("FragmentMetadata(fragmentNumberString=" + d["fragmentNumber"] + ", ")
        assert re.match(r"^FragmentMetadata\(fragmentNumberString=\d+, serverSideTimestampMillis=\d+, ", meta)
        assert f"serverSideTimestampMillis={d['serverTimestampMillis']}," in meta
        assert d["frameMetaData"].startswith("Frame(trackNumber=1, timeCode=")
        assert d["streamName"] == "crossing" and d["analyzer"] == "crossing-people"
        assert d["frameIndex"] in (0, 15) and d["keyFrame"] == (d["frameIndex"] == 0)
        answer = base64.b64decode(d["sageMakerOutput"])
        assert d["output"] == json.loads(answer) and d["contentType"] == "application/json"
        assert len(d["output"]["prediction"]) >= 5
    # the people are found: some frame has a confident (positive SVM margin) person box
    assert max(d["output"]["prediction"][0][1] for d in docs) > 0.6

    # the user's Lambda: event built as Lambda's Kinesis trigger builds it, clients from the environment
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("KIT_BUCKET", "kit-clips")
    sys.modules.pop("tests.analyzers.kit_lambda", None)
    kit_lambda = importlib.import_module("tests.analyzers.kit_lambda")
    event = {
        "Records": [
            {
                "kinesis": {
                    "data": base64.b64encode(r["Data"]).decode(),
                    "partitionKey": r["PartitionKey"],
                    "sequenceNumber": r["SequenceNumber"],
                },
                "eventSource": "aws:kinesis",
            }
            for r in raw
        ]
    }
    capsys.readouterr()
    kit_lambda.lambda_handler(event, None)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5 * len(docs)
    assert all(re.match(r"^detected object: person, with probability: 0\.\d+$", line) for line in printed)

    # the Lambda's last put is the fragment of the last record: it is that fragment and it decodes
    last = docs[-1]
    stored = s3.get_object(Bucket="kit-clips", Key="crossing.webm")["Body"].read()
    archived = client("kinesis-video-archived-media", server.url)
    direct = archived.get_media_for_fragment_list(StreamName="crossing", Fragments=[last["fragmentNumber"]])
    assert stored == direct["Payload"].read()
    assert _frames(stored) >= 1
    # a whole fragment fetched the same way holds its 30 frames
    first = archived.get_media_for_fragment_list(StreamName="crossing", Fragments=[numbers[0]])
    assert _frames(first["Payload"].read()) == 30

    state = analyzer(server, "crossing-people")["stream_states"][0]
    assert state["stream"] == "crossing" and state["status"] == "RUNNING"
    assert state["lease_owner"] == server.container.analyzer_engine.owner
    assert state["frames_analysed"] == len(docs) and state["errors"] == 0
    assert state["checkpoint_fragment"] == numbers[-1]
    assert 0 < state["lag_ms"] < 30_000
