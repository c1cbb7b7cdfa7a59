"""Fixtures and helpers of the analyzers tests: a live ffmpeg producer, records read with boto3, models."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import cv2
import httpx
import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.conftest import RunningServer
from tests.kinesis_reads import shard_records
from tests.models.conftest import centerface_onnx  # noqa: F401 (a fixture these tests share)
from tests.models.servers import Behaviour, ThreadServer, running

CREDENTIALS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "secret",
}


def client(name: str, url: str) -> Any:
    return boto3.client(name, endpoint_url=url, **CREDENTIALS)


@pytest.fixture(scope="session")
def pedestrians(media_dir: Path) -> Path:
    """People walking and standing (a street-level stage scene, 640 x 360, 29.97 fps, 9 s)."""
    return media_dir / "video" / "short_hamilton_clip.mp4"


def producer(
    endpoint: str,
    video: Path,
    stream: str,
    *,
    gop: int = 30,
    scale: str | None = None,
    seconds: float | None = None,
) -> subprocess.Popen[bytes]:
    """ffmpeg sending `video` in real time over PutMedia, one fragment per `gop` frames."""
    headers = (
        f"x-amzn-stream-name: {stream}\r\n"
        "x-amzn-fragment-timecode-type: RELATIVE\r\n"
        f"x-amzn-producer-start-timestamp: {time.time():.3f}\r\n"
    )
    cmd = ["ffmpeg", "-v", "error", "-re", "-i", str(video), "-an"]
    if seconds:
        cmd += ["-t", str(seconds)]
    if scale:
        cmd += ["-vf", f"scale={scale}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop), "-keyint_min", str(gop), "-bf", "2"]
    cmd += ["-f", "matroska", "-live", "1", "-method", "POST", "-chunked_post", "1", "-headers", headers]
    return subprocess.Popen([*cmd, endpoint + "/putMedia"])


def records(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    """Every record of every shard, parsed (each analyzer record is one JSON document)."""
    return [json.loads(r["Data"]) for r in raw_records(kinesis, stream)]


def raw_records(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        out += shard_records(kinesis, stream, shard["ShardId"])
    return out


def listed(server: RunningServer, stream: str) -> list[str]:
    """The stream's fragment numbers now (a producer's last fragment may be stored a moment after it
    exits: a test that waits for every fragment reads this again while it waits)."""
    return [
        f.fragment_number for f in server.container.streams.fragments_after(None, name=stream, limit=10000)
    ]


def wait_until(check: Any, timeout: float, message: str, poll: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, message
        time.sleep(poll)


def create_analyzer(server: RunningServer, **doc: Any) -> dict[str, Any]:
    resp = httpx.post(f"{server.url}/v1/analyzers", json=doc, timeout=30)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def analyzer(server: RunningServer, name: str) -> dict[str, Any]:
    resp = httpx.get(f"{server.url}/v1/analyzers/{name}", timeout=30)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def start(server: RunningServer, name: str) -> None:
    resp = httpx.post(f"{server.url}/v1/analyzers/{name}/start", timeout=30)
    assert resp.status_code == 200, resp.text


def register_model(server: RunningServer, name: str, kind: str, **config: Any) -> None:
    resp = httpx.post(f"{server.url}/v1/models", json={"name": name, "kind": kind, **config}, timeout=60)
    assert resp.status_code == 201, resp.text


def hog_candidates(bgr: np.ndarray, limit: int = 20) -> list[list[float]]:
    """OpenCV's HOG people detector answering like SageMaker's object detector: every candidate box
    (after non-maximum suppression) with its score, best first, as [class, score, xmin, ymin, xmax, ymax]."""
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    rects, weights = hog.detectMultiScale(
        bgr, hitThreshold=-1.0, winStride=(8, 8), padding=(8, 8), scale=1.05, groupThreshold=0
    )
    scores = [float(1 / (1 + np.exp(-w))) for w in np.ravel(weights)]
    keep = cv2.dnn.NMSBoxes([[int(v) for v in r] for r in rects], scores, 0.0, 0.3) if len(rects) else []
    height, width = bgr.shape[:2]
    rows = []
    for i in np.ravel(keep):
        x, y, w, h = (int(v) for v in rects[i])
        rows.append(
            [
                0,
                round(scores[i], 6),
                x / width,
                y / height,
                min(1.0, (x + w) / width),
                min(1.0, (y + h) / height),
            ]
        )
    return sorted(rows, key=lambda r: -r[1])[:limit]


def people_app(behaviour: Behaviour) -> FastAPI:
    """The SageMaker container contract (GET /ping, POST /invocations) around hog_candidates."""
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        failing = behaviour.enter()
        body = await request.body()
        if behaviour.sleep_s:
            time.sleep(behaviour.sleep_s)  # one busy single-worker model: calls queue behind each other
        if failing:
            return JSONResponse({"error": "model crashed"}, status_code=500)
        if not request.headers.get("content-type", "").startswith("image/"):
            return JSONResponse({"error": "expected an image content type"}, status_code=415)
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return JSONResponse({"error": "body is not an image"}, status_code=400)
        return JSONResponse({"prediction": hog_candidates(image)})

    return app


@pytest.fixture
def people_endpoint() -> Iterator[tuple[ThreadServer, Behaviour]]:
    behaviour = Behaviour()
    with running(people_app(behaviour), "/ping") as srv:
        yield srv, behaviour
