"""`kserve` kind: a remote model server speaking the KServe v2 / Triton HTTP inference protocol.

Registration asks the server `GET /v2/health/ready` and `GET /v2/models/{name}[/versions/{v}]` (its
metadata: input name, datatype, shape; output names), so a wrong URL or model name is refused then.
An invocation pre-processes the frame here with the declared input spec, sends the tensor as JSON
(`POST .../infer`, `{"inputs": [{"name", "shape", "datatype", "data"}]}`), reads the output tensors
back and runs the declared decoder on them, exactly as the `onnx` kind does in-process.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, HttpUrl

from videolens.services.errors import InvalidParameterError
from videolens.services.models.errors import ModelError
from videolens.services.models.kinds import KindConfig, KindContext, register_kind
from videolens.services.models.models import ModelAnswer, ModelInput
from videolens.services.models.resilience import RemoteSettings, ResilientClient
from videolens.services.models.tensor_spec import DecoderSpecModel, InputSpecModel, decode_outputs
from videolens.vision.onnx_runner import preprocess

#: v2 datatypes we send or read, and their numpy types
DATATYPES = {
    "FP32": np.float32,
    "FP16": np.float16,
    "FP64": np.float64,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "INT32": np.int32,
    "INT64": np.int64,
    "BOOL": np.bool_,
}
_SENDABLE = {"FP32", "FP16", "UINT8"}


class KserveConfig(KindConfig, RemoteSettings):
    #: the server's base URL, e.g. http://triton:8000
    url: HttpUrl
    #: the model's name on that server (default: the name registered here)
    remote_name: str | None = Field(default=None, min_length=1, max_length=256)
    remote_version: str | None = Field(default=None, min_length=1, max_length=64)
    input: InputSpecModel
    decoder: DecoderSpecModel = Field(default_factory=DecoderSpecModel)


def _model_path(config: KserveConfig, name: str) -> str:
    path = (
        f"{str(config.url).rstrip('/')}/v2/models/{urllib.parse.quote(config.remote_name or name, safe='')}"
    )
    if config.remote_version:
        path += f"/versions/{urllib.parse.quote(config.remote_version, safe='')}"
    return path


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ModelError(f"{what} is not JSON") from exc


class KserveInvoker:
    def __init__(self, config: KserveConfig, stored: dict[str, Any], name: str) -> None:
        self.input = config.input.spec()
        self.decoder = config.decoder.spec()
        self.input_name = str(stored["input_name"])
        self.datatype = str(stored["datatype"])
        self.output_names = [str(n) for n in stored.get("output_names", [])]
        self.url = _model_path(config, name) + "/infer"
        self.client = ResilientClient(
            config, config.max_concurrency, f"kserve model {config.remote_name or name}"
        )

    def invoke(self, inp: ModelInput, accept: str | None) -> ModelAnswer:
        tensor, transform = preprocess(inp.rgb(), self.input, DATATYPES[self.datatype])
        request: dict[str, Any] = {
            "inputs": [
                {
                    "name": self.input_name,
                    "shape": list(tensor.shape),
                    "datatype": self.datatype,
                    "data": tensor.ravel().tolist(),
                }
            ]
        }
        if self.output_names:
            request["outputs"] = [{"name": n} for n in self.output_names]
        answer = self.client.request(
            "POST",
            self.url,
            content=json.dumps(request).encode(),
            headers={"Content-Type": "application/json"},
        )
        outputs = read_outputs(_json(answer.body, "the inference answer"))
        return decode_outputs(outputs, self.decoder, transform, self.input, checking=False)

    def close(self) -> None:
        self.client.close()


def read_outputs(doc: Any) -> dict[str, np.ndarray]:
    """`{"outputs": [{"name", "shape", "datatype", "data"}]}` → name → array, in the server's order."""
    if not isinstance(doc, dict) or not isinstance(doc.get("outputs"), list):
        raise ModelError("the inference answer has no 'outputs' list")
    out: dict[str, np.ndarray] = {}
    for item in doc["outputs"]:
        try:
            dtype = DATATYPES[item["datatype"]]
            out[str(item["name"])] = np.asarray(item["data"], dtype=dtype).reshape(item["shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"unreadable output tensor in the inference answer: {exc}") from exc
    return out


@register_kind
class KserveKind:
    key: ClassVar[str] = "kserve"
    config_type: ClassVar[type[KindConfig]] = KserveConfig
    takes_file: ClassVar[bool] = False

    def prepare(self, name: str, config: KindConfig, file: bytes | None, ctx: KindContext) -> dict[str, Any]:
        assert isinstance(config, KserveConfig)
        client = ResilientClient(config, 2, f"kserve server {config.url}")
        try:
            base = str(config.url).rstrip("/")
            try:
                client.request("GET", f"{base}/v2/health/ready")
                meta = _json(client.request("GET", _model_path(config, name)).body, "the model metadata")
            except ModelError as exc:
                raise InvalidParameterError(f"kserve server check failed: {exc.message}") from exc
        finally:
            client.close()
        inputs = meta.get("inputs") if isinstance(meta, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise InvalidParameterError("the kserve model metadata lists no inputs")
        chosen = (
            next((i for i in inputs if i.get("name") == config.input.name), None)
            if config.input.name
            else None
        )
        if chosen is None:
            if config.input.name:
                raise InvalidParameterError(f"the kserve model has no input {config.input.name!r}")
            if len(inputs) > 1:
                raise InvalidParameterError("the kserve model has several inputs; name the image input")
            chosen = inputs[0]
        if chosen.get("datatype") not in _SENDABLE:
            raise InvalidParameterError(
                f"kserve input {chosen.get('name')!r} has datatype {chosen.get('datatype')}; "
                "supported: FP32, FP16, UINT8"
            )
        outputs = [str(o["name"]) for o in meta.get("outputs", []) if isinstance(o, dict) and "name" in o]
        return {"input_name": chosen["name"], "datatype": chosen["datatype"], "output_names": outputs}

    def load(
        self, name: str, config: KindConfig, stored: dict[str, Any], file: bytes | None, ctx: KindContext
    ) -> KserveInvoker:
        assert isinstance(config, KserveConfig)
        return KserveInvoker(config, stored, name)
