"""StartSelector (fragment number, producer timestamp), RegionsOfInterest (box and polygon) and
UpdateStreamProcessor, on a stored stream of the synthetic search video (ingested in-process)."""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningServer
from tests.jobs.synthetic_search import make_search_video
from tests.live.test_connected_home import _create as _create_home
from tests.live.test_flow import ROLE, _create, _records, _setup, _wait_status, client

#: biden walks on the right (x 0.78-0.82), obama on the left, rose and kit in the middle
RIGHT_BOX = {"BoundingBox": {"Left": 0.65, "Top": 0.0, "Width": 0.35, "Height": 1.0}}
LEFT_TRIANGLE = {"Polygon": [{"X": 0.0, "Y": 0.0}, {"X": 0.4, "Y": 0.5}, {"X": 0.0, "Y": 1.0}]}


def _ingest(server: RunningServer, video: Path, tmp: Path, start: float) -> list[Any]:
    mkv = tmp / "search.mkv"
    cmd = ["ffmpeg", "-v", "error", "-i", str(video), "-c:v", "libx264", "-preset", "ultrafast"]
    subprocess.run([*cmd, "-g", "15", "-bf", "2", "-f", "matroska", str(mkv)], check=True)
    with server.container.streams.ingest(name="lobby", producer_start=start) as session:
        session.feed(mkv.read_bytes())
        session.finish()
    return server.container.streams.fragments_after(None, name="lobby", limit=100)


def _run_to_end(rek: Any, name: str, server: RunningServer, n: int, **start: Any) -> None:
    rek.start_stream_processor(Name=name, **start)
    deadline = time.monotonic() + 60
    while server.container.processors.describe(name).fragments_done < n:
        assert time.monotonic() < deadline, server.container.processors.describe(name)
        time.sleep(0.1)
    rek.stop_stream_processor(Name=name)
    _wait_status(rek, name, "STOPPED")


def _faces(records: list[dict[str, Any]]) -> list[tuple[float, float, str | None]]:
    out = []
    for doc in records:
        for face in doc["FaceSearchResponse"]:
            box = face["DetectedFace"]["BoundingBox"]
            best = face["MatchedFaces"][0]["Face"]["ExternalImageId"] if face["MatchedFaces"] else None
            out.append((box["Left"] + box["Width"] / 2, box["Top"] + box["Height"] / 2, best))
    return out


def test_start_selectors_regions_and_update(server: RunningServer, media_dir: Path, tmp_path: Path) -> None:
    rek, _kvs, kinesis, video_arn, data_arn = _setup(server, media_dir)
    start = time.time() - 60
    fragments = _ingest(server, make_search_video(media_dir, tmp_path / "search.mp4"), tmp_path, start)
    assert len(fragments) >= 6

    # FragmentNumber: from that fragment on (inclusive), every later one, none before; the box region
    _create(rek, "right", video_arn, data_arn, RegionsOfInterest=[RIGHT_BOX])
    _run_to_end(
        rek,
        "right",
        server,
        len(fragments) - 2,
        StartSelector={"KVSStreamStartSelector": {"FragmentNumber": fragments[2].fragment_number}},
    )
    records = _records(kinesis, "matches")
    numbers = [f.fragment_number for f in fragments]
    seen = {r["InputInformation"]["KinesisVideo"]["FragmentNumber"] for r in records}
    assert seen == set(numbers[2:])
    faces = _faces(records)
    assert faces and all(x >= 0.65 for x, _, _ in faces), faces
    assert {who for _, _, who in faces} == {"biden"}

    # ProducerTimestamp (milliseconds): from the first fragment at or after it; the polygon region
    _create(rek, "left", video_arn, data_arn, RegionsOfInterest=[LEFT_TRIANGLE])
    # rounded up: a millisecond rounded down would fall inside the previous fragment, which then counts
    at_ms = math.ceil(fragments[4].producer_ts * 1000)
    _run_to_end(
        rek,
        "left",
        server,
        len(fragments) - 4,
        StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": at_ms}},
    )
    new = _records(kinesis, "matches")[len(records) :]
    assert {r["InputInformation"]["KinesisVideo"]["FragmentNumber"] for r in new} == set(numbers[4:])
    left = _faces(new)
    # inside the triangle (0,0)-(0.4,0.5)-(0,1): x < 0.4 and |y - 0.5| < 0.5 - 1.25 x
    assert left and all(x < 0.4 and abs(y - 0.5) <= 0.5 - 1.25 * x + 1e-6 for x, y, _ in left), left
    assert {who for _, _, who in left} == {"obama"}

    # UpdateStreamProcessor: refused while running, applied when stopped, ParametersToDelete
    rek.start_stream_processor(Name="left")
    with pytest.raises(ClientError) as err:
        rek.update_stream_processor(Name="left", RegionsOfInterestForUpdate=[RIGHT_BOX])
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    rek.stop_stream_processor(Name="left")
    _wait_status(rek, "left", "STOPPED")
    rek.update_stream_processor(Name="left", RegionsOfInterestForUpdate=[RIGHT_BOX])
    assert rek.describe_stream_processor(Name="left")["RegionsOfInterest"] == [RIGHT_BOX]
    rek.update_stream_processor(Name="left", ParametersToDelete=["RegionsOfInterest"])
    assert "RegionsOfInterest" not in rek.describe_stream_processor(Name="left")
    with pytest.raises(ClientError) as err:
        rek.update_stream_processor(
            Name="left", SettingsForUpdate={"ConnectedHomeForUpdate": {"MinConfidence": 70}}
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_update_connected_home_settings(server: RunningServer) -> None:
    rek, kvs, sns, s3 = (client(n, server.url) for n in ("rekognition", "kinesisvideo", "sns", "s3"))
    s3.create_bucket(Bucket="doorbell")
    topic = sns.create_topic(Name="doorbell-events")["TopicArn"]
    video_arn = kvs.create_stream(StreamName="porch", DataRetentionInHours=1)["StreamARN"]
    _create_home(rek, video_arn, topic, ["PERSON"])
    assert rek.describe_stream_processor(Name="porchPeople")["RoleArn"] == ROLE
    rek.update_stream_processor(
        Name="porchPeople", SettingsForUpdate={"ConnectedHomeForUpdate": {"MinConfidence": 70}}
    )
    settings = rek.describe_stream_processor(Name="porchPeople")["Settings"]["ConnectedHome"]
    assert settings == {"Labels": ["PERSON"], "MinConfidence": 70}
    rek.update_stream_processor(Name="porchPeople", ParametersToDelete=["ConnectedHomeMinConfidence"])
    settings = rek.describe_stream_processor(Name="porchPeople")["Settings"]["ConnectedHome"]
    assert settings == {"Labels": ["PERSON"]}
    # an update is validated like a create: no PET model here
    with pytest.raises(ClientError) as err:
        rek.update_stream_processor(
            Name="porchPeople", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "PET" in err.value.response["Error"]["Message"]
    assert rek.describe_stream_processor(Name="porchPeople")["Settings"]["ConnectedHome"] == settings
