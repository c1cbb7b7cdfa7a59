"""`onnx` kind through REST: the real CenterFace model uploaded with a declared spec, and bad uploads."""

from __future__ import annotations

import json
from typing import Any

import cv2
import httpx
import numpy as np

from tests.conftest import RunningServer
from tests.models.onnx_builders import constant_outputs_model
from tests.models.test_http_kind import assert_problem, invoke, register
from videolens.container import Container
from videolens.vision.detector import FaceDetector

CENTERFACE_SPEC: dict[str, Any] = {
    # CenterFace takes RGB 0..255 without mean subtraction, padded right/bottom with black (as
    # vision/detector.py does); 800 x 576 holds city.jpg (800 x 564) at scale 1
    "input": {
        "width": 800,
        "height": 576,
        "resize": "letterbox",
        "scale": 1.0,
        "pad_value": 0,
        "pad_position": "top-left",
    },
    "decoder": {"type": "centerface", "class_names": ["face"], "score_threshold": 0.5, "iou_threshold": 0.3},
}


def upload(server: RunningServer, name: str, data: bytes, spec: Any, kind: str = "onnx") -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/models",
        data={"name": name, "kind": kind, "spec": spec if isinstance(spec, str) else json.dumps(spec)},
        files={"file": ("model.onnx", data, "application/octet-stream")},
        timeout=120,
    )


def _iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_centerface_uploaded_as_onnx_finds_the_faces_the_builtin_detector_finds(
    server: RunningServer, centerface_onnx: bytes, city_jpg: bytes
) -> None:
    resp = upload(server, "centerface", centerface_onnx, CENTERFACE_SPEC)
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert doc["file_size"] == len(centerface_onnx)
    assert doc["details"]["outputs"]["537"] == [1, 1, 144, 200]  # the heatmap at stride 4

    answer = invoke(server, "centerface", city_jpg)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    ours = answer.json()["prediction"]

    image = cv2.imdecode(np.frombuffer(city_jpg, np.uint8), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    reference = [
        [f.x1 / width, f.y1 / height, f.x2 / width, f.y2 / height]
        for f in FaceDetector(threshold=0.5).detect(image)
    ]
    assert len(reference) >= 10  # a crowd
    # the same tensor into the same graph: every face of the builtin detector, at the same place
    for ref in reference:
        assert any(_iou(row[2:], ref) >= 0.99 for row in ours), ref
    extra = [row for row in ours if not any(_iou(row[2:], ref) >= 0.99 for ref in reference)]
    assert all((row[4] - row[2]) * width < 12 or (row[5] - row[3]) * height < 12 for row in extra)  # min size
    assert all(row[0] == 0 and 0.5 <= row[1] <= 1 for row in ours)


def test_a_model_survives_a_restart_and_delete_removes_its_file(
    server: RunningServer, centerface_onnx: bytes, city_jpg: bytes, models: Any
) -> None:
    assert upload(server, "cf", centerface_onnx, CENTERFACE_SPEC).status_code == 201
    before = invoke(server, "cf", city_jpg).content
    blobs = list(server.container.blobs.list("models/"))
    assert len(blobs) == 1
    restarted = Container(server.container.settings, models=models)  # a second process on the same data
    try:
        from videolens.services.models.models import ModelInput

        again = restarted.models_service.invoke("cf", ModelInput.from_bytes(city_jpg, "image/jpeg"))
        assert again.body == before
    finally:
        restarted.close()
    listed = httpx.get(f"{server.url}/v1/models").json()
    assert [m["name"] for m in listed["models"]] == ["cf"]
    assert httpx.delete(f"{server.url}/v1/models/cf").status_code == 204
    assert list(server.container.blobs.list("models/")) == []
    assert_problem(invoke(server, "cf", city_jpg), 404, "model-not-found")
    assert_problem(httpx.get(f"{server.url}/v1/models/cf"), 404, "model-not-found")
    assert_problem(httpx.delete(f"{server.url}/v1/models/cf"), 404, "model-not-found")


def test_a_test_built_yolo_graph_decodes_end_to_end(server: RunningServer, city_jpg: bytes) -> None:
    rows = np.array([[[160, 160, 100, 80, 0.9, 0.2, 0.8]]], np.float32)  # one car at the centre
    model = constant_outputs_model([1, 3, 320, 320], {"output0": rows})
    spec = {
        "input": {"width": 320, "height": 320},
        "decoder": {"type": "yolov5", "class_names": ["person", "car"]},
    }
    assert upload(server, "yolo", model, spec).status_code == 201
    # stretch: 800 x 564 → 320 x 320, box (110, 120)-(210, 200) of the input → ratios of the source
    assert invoke(server, "yolo", city_jpg).json() == {
        "prediction": [[1, 0.72, 0.34375, 0.375, 0.65625, 0.625]],
        "class_names": ["person", "car"],
    }


def test_bad_uploads_are_refused_with_clear_problems(server: RunningServer, centerface_onnx: bytes) -> None:
    doc = assert_problem(
        upload(server, "junk", b"\x00\x01 not protobuf \xff" * 50, CENTERFACE_SPEC), 400, "invalid-parameter"
    )
    assert "invalid ONNX model" in doc["detail"]
    truncated = centerface_onnx[: len(centerface_onnx) // 2]
    assert (
        "invalid ONNX model"
        in assert_problem(upload(server, "cut", truncated, CENTERFACE_SPEC), 400, "invalid-parameter")[
            "detail"
        ]
    )
    assert (
        "not valid JSON"
        in assert_problem(upload(server, "x", centerface_onnx, "{nope"), 400, "invalid-parameter")["detail"]
    )
    assert (
        "input: Field required"
        in assert_problem(upload(server, "x", centerface_onnx, {"decoder": {}}), 400, "invalid-parameter")[
            "detail"
        ]
    )
    wrong = {**CENTERFACE_SPEC, "decoder": {"type": "yolov5"}}
    assert (
        "decoder yolov5 cannot read"
        in assert_problem(upload(server, "x", centerface_onnx, wrong), 400, "invalid-parameter")["detail"]
    )
    unknown = {**CENTERFACE_SPEC, "decoder": {"type": "yolov99"}}
    assert (
        "unknown decoder"
        in assert_problem(upload(server, "x", centerface_onnx, unknown), 400, "invalid-parameter")["detail"]
    )
    typo = {**CENTERFACE_SPEC, "thresold": 0.3}
    assert (
        "thresold: Extra inputs"
        in assert_problem(upload(server, "x", centerface_onnx, typo), 400, "invalid-parameter")["detail"]
    )
    no_file = httpx.post(
        f"{server.url}/v1/models", data={"name": "x", "spec": "{}"}, files={"other": ("a", b"b")}
    )
    assert "'file'" in assert_problem(no_file, 400, "invalid-parameter")["detail"]
    assert (
        "needs its file"
        in assert_problem(register(server, "x", "onnx", **CENTERFACE_SPEC), 400, "invalid-parameter")[
            "detail"
        ]
    )
    assert upload(server, "ok", centerface_onnx, CENTERFACE_SPEC).status_code == 201
    assert_problem(upload(server, "ok", centerface_onnx, CENTERFACE_SPEC), 409, "already-exists")
    assert (
        "invalid model name"
        in assert_problem(
            upload(server, "bad_name!", centerface_onnx, CENTERFACE_SPEC), 400, "invalid-parameter"
        )["detail"]
    )
    assert [m["name"] for m in httpx.get(f"{server.url}/v1/models").json()["models"]] == ["ok"]
    assert list(server.container.blobs.list("models/")) == [
        f"models/ok/{httpx.get(f'{server.url}/v1/models/ok').json()['version']}.bin"
    ]


def test_json_registrations_that_are_wrong(server: RunningServer) -> None:
    post = lambda body: httpx.post(  # noqa: E731
        f"{server.url}/v1/models", content=body, headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in assert_problem(post(b"{broken"), 400, "invalid-parameter")["detail"]
    assert "must be a JSON object" in assert_problem(post(b"[1, 2]"), 400, "invalid-parameter")["detail"]
    assert "required" in assert_problem(post(b'{"kind": "http"}'), 400, "invalid-parameter")["detail"]
    doc = assert_problem(register(server, "m", "tensorflow"), 400, "invalid-parameter")
    assert (
        "unknown model kind 'tensorflow'" in doc["detail"] and "builtin, http, kserve, onnx" in doc["detail"]
    )
    assert (
        "url: Field required"
        in assert_problem(register(server, "m", "http"), 400, "invalid-parameter")["detail"]
    )
    doc = assert_problem(register(server, "m", "builtin", model="cat-detector"), 400, "invalid-parameter")
    assert "face-detector, face-search, person-detector" in doc["detail"]
    assert_problem(
        register(server, "m", "builtin", model="face-search", collection_id="nope"), 404, "not-found"
    )


def test_bodies_that_are_not_images(server: RunningServer) -> None:
    assert register(server, "faces", "builtin", model="face-detector").status_code == 201
    doc = assert_problem(invoke(server, "faces", b"GIF89a but not really"), 400, "invalid-image")
    assert "not an image" in doc["detail"]
    assert "empty" in assert_problem(invoke(server, "faces", b""), 400, "invalid-image")["detail"]
    assert_problem(invoke(server, "nobody", b"\xff\xd8"), 404, "model-not-found")
