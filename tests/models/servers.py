"""Real model servers owned by the tests: a SageMaker-contract HOG person detector and a KServe v2 server.

Both run as uvicorn servers in a thread on a loopback port. Behaviour knobs (sleep per call, fail the
next N calls) let the tests drive the timeout, retry and circuit-breaker paths for real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cv2
import httpx
import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.conftest import free_port


class ThreadServer:
    def __init__(self, app: FastAPI, ready_path: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.ready_path = ready_path

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + self.ready_path, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("test model server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Behaviour:
    """Shared knobs and counters of a test server (thread-safe enough for the tests' use)."""

    def __init__(self) -> None:
        self.sleep_s = 0.0
        self.fail_next = 0  # answer 500 to this many calls
        self.fail_always = False
        self.calls = 0
        self.lock = threading.Lock()

    def enter(self) -> bool:
        """Count the call; True when it must fail."""
        with self.lock:
            self.calls += 1
            if self.fail_always:
                return True
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return False


def hog_people(bgr: np.ndarray) -> list[list[float]]:
    """OpenCV's default people detector, answered as SageMaker object-detection rows (ratios)."""
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    rects, weights = hog.detectMultiScale(bgr, winStride=(8, 8), padding=(8, 8), scale=1.05)
    height, width = bgr.shape[:2]
    rows = []
    for (x, y, w, h), weight in zip(rects, np.ravel(weights), strict=True):
        score = float(1 / (1 + np.exp(-weight)))
        rows.append([0, score, x / width, y / height, min(1.0, (x + w) / width), min(1.0, (y + h) / height)])
    return sorted(rows, key=lambda r: -r[1])


def sagemaker_app(behaviour: Behaviour) -> FastAPI:
    """The SageMaker container contract: GET /ping, POST /invocations (image body, JSON answer)."""
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        failing = behaviour.enter()
        if behaviour.sleep_s:
            time.sleep(behaviour.sleep_s)  # blocks this server's loop, like a busy single-worker model
        if failing:
            return JSONResponse({"error": "model crashed"}, status_code=500)
        if not request.headers.get("content-type", "").startswith("image/"):
            return JSONResponse({"error": "expected an image content type"}, status_code=415)
        image = cv2.imdecode(np.frombuffer(await request.body(), np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return JSONResponse({"error": "body is not an image"}, status_code=400)
        return JSONResponse({"prediction": hog_people(image)})

    return app


_V2_TYPES = {"tensor(float)": "FP32", "tensor(uint8)": "UINT8"}


def kserve_app(model_name: str, model_bytes: bytes, behaviour: Behaviour) -> FastAPI:
    """The KServe v2 / Triton HTTP protocol around one onnxruntime session (JSON tensors)."""
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    app = FastAPI()

    def metadata() -> dict[str, Any]:
        def tensor(t: Any) -> dict[str, Any]:
            shape = [d if isinstance(d, int) else -1 for d in t.shape]
            return {"name": t.name, "datatype": _V2_TYPES.get(t.type, "FP32"), "shape": shape}

        return {
            "name": model_name,
            "versions": ["1"],
            "platform": "onnxruntime_onnx",
            "inputs": [tensor(t) for t in session.get_inputs()],
            "outputs": [tensor(t) for t in session.get_outputs()],
        }

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.get("/v2/models/{name}")
    def model_metadata(name: str) -> Response:
        if name != model_name:
            return JSONResponse(
                {"error": f"Request for unknown model: '{name}' is not found"}, status_code=404
            )
        return JSONResponse(metadata())

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request) -> Response:
        failing = behaviour.enter()
        if name != model_name:
            return JSONResponse(
                {"error": f"Request for unknown model: '{name}' is not found"}, status_code=404
            )
        if failing:
            return JSONResponse({"error": "inference failed"}, status_code=500)
        doc = await request.json()
        feeds = {}
        for item in doc["inputs"]:
            dtype = np.float32 if item["datatype"] == "FP32" else np.uint8
            feeds[item["name"]] = np.asarray(item["data"], dtype=dtype).reshape(item["shape"])
        wanted = [o["name"] for o in doc.get("outputs", [])] or [o.name for o in session.get_outputs()]
        values = session.run(wanted, feeds)
        outputs = [
            {
                "name": n,
                "shape": list(v.shape),
                "datatype": "FP32",
                "data": v.astype(np.float32).ravel().tolist(),
            }
            for n, v in zip(wanted, values, strict=True)
        ]
        return JSONResponse({"model_name": model_name, "model_version": "1", "outputs": outputs})

    return app


@contextmanager
def running(app: FastAPI, ready_path: str) -> Iterator[ThreadServer]:
    server = ThreadServer(app, ready_path).start()
    try:
        yield server
    finally:
        server.stop()
