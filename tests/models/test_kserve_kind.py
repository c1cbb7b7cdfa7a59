"""`kserve` kind against a real KServe-v2-speaking server (onnxruntime behind the v2 HTTP protocol)."""

from __future__ import annotations

import httpx

from tests.conftest import RunningServer, free_port
from tests.models.servers import Behaviour, kserve_app, running
from tests.models.test_http_kind import assert_problem, invoke, register
from tests.models.test_onnx_kind import upload
from videolens.vision.onnx_runner import InputSpec, prepare_model

#: CenterFace at a small input so the JSON tensors stay small (320 x 224 = 1/2.5 of city.jpg)
SPEC = {
    "input": {
        "width": 320,
        "height": 224,
        "resize": "letterbox",
        "scale": 1.0,
        "pad_value": 0,
        "pad_position": "top-left",
    },
    "decoder": {"type": "centerface", "class_names": ["face"], "score_threshold": 0.4, "iou_threshold": 0.3},
}


def _served_centerface(centerface_onnx: bytes) -> bytes:
    # a model server gets a model whose input accepts the size it is sent (Triton: a config.pbtxt)
    return prepare_model(centerface_onnx, InputSpec(width=320, height=224))


def test_kserve_model_answers_like_the_same_model_in_process(
    server: RunningServer, centerface_onnx: bytes, city_jpg: bytes
) -> None:
    behaviour = Behaviour()
    with running(
        kserve_app("centerface", _served_centerface(centerface_onnx), behaviour), "/v2/health/ready"
    ) as ks:
        resp = register(server, "remote-faces", "kserve", url=ks.url, remote_name="centerface", **SPEC)
        assert resp.status_code == 201, resp.text
        assert resp.json()["details"] == {
            "input_name": "input.1",
            "datatype": "FP32",
            "output_names": ["537", "538", "539", "540"],
        }
        remote = invoke(server, "remote-faces", city_jpg)
        assert remote.status_code == 200, remote.text
        assert behaviour.calls == 1
    assert upload(server, "local-faces", centerface_onnx, SPEC).status_code == 201
    local = invoke(server, "local-faces", city_jpg)
    # the same tensor, the same graph, the same decoder: the same answer, byte for byte
    assert remote.json() == local.json()
    assert len(remote.json()["prediction"]) >= 3


def test_kserve_registration_checks_the_server(server: RunningServer, centerface_onnx: bytes) -> None:
    with running(
        kserve_app("centerface", _served_centerface(centerface_onnx), Behaviour()), "/v2/health/ready"
    ) as ks:
        doc = assert_problem(
            register(server, "m", "kserve", url=ks.url, remote_name="other", retries=0, **SPEC),
            400,
            "invalid-parameter",
        )
        assert "kserve server check failed" in doc["detail"] and "404" in doc["detail"]
        doc = assert_problem(
            register(
                server,
                "m",
                "kserve",
                url=ks.url,
                remote_name="centerface",
                **{**SPEC, "input": {**SPEC["input"], "name": "pixels"}},
            ),
            400,
            "invalid-parameter",
        )
        assert "no input 'pixels'" in doc["detail"]
    down = f"http://127.0.0.1:{free_port()}"
    doc = assert_problem(
        register(server, "m", "kserve", url=down, retries=0, **SPEC), 400, "invalid-parameter"
    )
    assert "cannot reach" in doc["detail"]
    assert httpx.get(f"{server.url}/v1/models").json()["models"] == []


def test_kserve_server_failing_or_gone_after_registration(
    server: RunningServer, centerface_onnx: bytes, city_jpg: bytes
) -> None:
    behaviour = Behaviour()
    with running(
        kserve_app("centerface", _served_centerface(centerface_onnx), behaviour), "/v2/health/ready"
    ) as ks:
        register(
            server, "ks", "kserve", url=ks.url, remote_name="centerface", retries=1, backoff_s=0.01, **SPEC
        )
        behaviour.fail_next = 1
        assert invoke(server, "ks", city_jpg).status_code == 200  # one retry rides over the 500
        assert behaviour.calls == 2
        behaviour.fail_always = True
        doc = assert_problem(invoke(server, "ks", city_jpg), 502, "model-error")
        assert "answered 500" in doc["detail"]
    doc = assert_problem(invoke(server, "ks", city_jpg), 502, "model-error")
    assert "cannot reach" in doc["detail"]
    assert_problem(invoke(server, "ks", b"not an image"), 400, "invalid-image")
