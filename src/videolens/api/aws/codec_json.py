"""AWS JSON 1.1 (Rekognition, Kinesis) and rest-json (the three KVS clients) codecs, model-driven."""

from __future__ import annotations

import contextvars
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from botocore.model import OperationModel, ServiceModel

from videolens.api.aws import codec_cbor, eventstream
from videolens.api.aws.errors import AwsError
from videolens.api.aws.rest_binding import bound_members, match_operation, parse_bindings, serialize_bindings
from videolens.api.aws.shape_values import decode_json, encode_json
from videolens.api.aws.wire import WireRequest, WireResponse

JSON11 = "application/x-amz-json-1.1"
#: set by parse() for the request being handled: answer in CBOR (Java SDK's Kinesis default)
_CBOR = contextvars.ContextVar("aws_cbor", default=False)
#: services whose AWS endpoint also speaks CBOR 1.1 (Java SDKs default to it for Kinesis)
CBOR_SERVICES = frozenset({"kinesis"})
#: a 204 answer carries no body (HTTP): one written anyway would be read as the start of the next response
NO_CONTENT = 204


def _load_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested thousands of levels deep
        raise AwsError("SerializationException", "Request body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise AwsError("SerializationException", "Request body must be a JSON object")
    return doc


class JsonCodec:
    """`POST /` with `X-Amz-Target: <targetPrefix>.<Operation>` and a JSON object body."""

    def find_operation(self, model: ServiceModel, req: WireRequest) -> OperationModel | None:
        target = req.headers.get("x-amz-target", "")
        prefix, _, op_name = target.rpartition(".")
        if req.method != "POST" or prefix != model.metadata.get("targetPrefix"):
            return None
        if op_name not in model.operation_names:
            raise AwsError("UnknownOperationException", f"Unknown operation {target}")
        return model.operation_model(op_name)

    def parse(self, op: OperationModel, req: WireRequest) -> dict[str, Any]:
        shape = op.input_shape
        if codec_cbor.CBOR11 in req.headers.get("content-type", ""):
            if op.service_model.service_name not in CBOR_SERVICES:
                raise AwsError(
                    "SerializationException",
                    f"CBOR is not supported by {op.service_model.service_name}: send AWS JSON 1.1",
                )
            _CBOR.set(True)
            doc = codec_cbor.loads(req.body)
            return codec_cbor.decode_cbor(shape, doc) if shape is not None else {}
        _CBOR.set(False)
        doc = _load_body(req.body)
        return decode_json(shape, doc) if shape is not None else {}

    def serialize(self, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse:
        shape = op.output_shape
        cbor = _CBOR.get()
        if op.has_event_stream_output and shape is not None:
            return self._event_stream(op, output, request_id, cbor)
        if cbor:
            body = codec_cbor.encode_cbor(shape, output) if shape is not None else {}
            return WireResponse(
                200,
                [("Content-Type", codec_cbor.CBOR11), ("x-amzn-RequestId", request_id)],
                codec_cbor.dumps(body),
            )
        doc = encode_json(shape, output) if shape is not None else {}
        return WireResponse(
            200,
            [("Content-Type", JSON11), ("x-amzn-RequestId", request_id)],
            json.dumps(doc, separators=(",", ":")).encode(),
        )

    def _event_stream(
        self, op: OperationModel, output: dict[str, Any], request_id: str, cbor: bool
    ) -> WireResponse:
        """`initial-response`, then one event message per (event name, members) the handler yields."""
        shape = op.output_shape
        assert shape is not None
        stream_name = shape.event_stream_name
        stream_shape = shape.members[stream_name]
        #: (event name, members) per event; None: no event yet (the sender then checks the connection)
        events: Iterator[tuple[str, dict[str, Any]] | None] = output[stream_name]
        initial = {k: v for k, v in output.items() if k != stream_name}
        content_type = codec_cbor.CBOR11 if cbor else JSON11

        def encode(member: Any, value: dict[str, Any]) -> bytes:
            if cbor:
                return codec_cbor.dumps(codec_cbor.encode_cbor(member, value))
            return json.dumps(encode_json(member, value), separators=(",", ":")).encode()

        def frames() -> Iterator[bytes]:
            yield eventstream.event(
                "initial-response", encode(shape, initial) if initial else b"{}", content_type
            )
            try:
                for item in events:
                    if item is None:
                        yield b""
                        continue
                    name, members = item
                    yield eventstream.event(name, encode(stream_shape.members[name], members), content_type)
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()

        return WireResponse(
            200,
            [("Content-Type", eventstream.CONTENT_TYPE), ("x-amzn-RequestId", request_id)],
            frames(),
        )

    def serialize_error(
        self, model: ServiceModel, err: AwsError, request_id: str, req: WireRequest
    ) -> WireResponse:
        # botocore reads the code only from the body's __type for this protocol
        body = {"__type": err.code, "Message": err.message}
        if codec_cbor.CBOR11 in req.headers.get("content-type", ""):
            return WireResponse(
                err.status,
                [
                    ("Content-Type", codec_cbor.CBOR11),
                    ("x-amzn-RequestId", request_id),
                    ("x-amzn-ErrorType", err.code),
                ],
                codec_cbor.dumps(body),
            )
        return WireResponse(
            err.status,
            [("Content-Type", JSON11), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", err.code)],
            json.dumps(body).encode(),
        )


class RestJsonCodec:
    """Operations routed by method + path (`POST /getMedia`), members bound to uri/query/headers/body."""

    def find_operation(self, model: ServiceModel, req: WireRequest) -> OperationModel | None:
        found = match_operation(model, req)
        if found is None:
            return None
        req.route_labels = found[1]
        return found[0]

    def parse(self, op: OperationModel, req: WireRequest) -> dict[str, Any]:
        shape = op.input_shape
        if shape is None:
            return {}
        out = parse_bindings(op, req, req.route_labels)
        payload = shape.serialization.get("payload")
        if payload:
            member = shape.members[payload]
            if member.type_name == "structure":
                out[payload] = decode_json(member, _load_body(req.body), payload)
            elif member.type_name in ("blob", "string") and not member.serialization.get("streaming"):
                out[payload] = req.body if member.type_name == "blob" else req.body.decode()
            return out
        bound = bound_members(shape)
        doc = decode_json(shape, _load_body(req.body))
        for key, value in doc.items():
            if key not in bound:
                out[key] = value
        return out

    def serialize(self, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse:
        shape = op.output_shape
        status, headers = serialize_bindings(shape, output, int(op.http.get("responseCode", 200)))
        headers.append(("x-amzn-RequestId", request_id))
        if status == NO_CONTENT:  # e.g. MediaLive DeleteTags: a body would be read as the next response
            return WireResponse(status, headers, b"")
        if shape is None:
            return WireResponse(status, headers + [("Content-Type", "application/json")], b"{}")
        unknown = set(output) - set(shape.members)
        if unknown:
            raise TypeError(f"{op.name}: unknown output members {sorted(unknown)}")
        payload = shape.serialization.get("payload")
        if payload:
            member = shape.members[payload]
            value = output.get(payload)
            if member.type_name == "structure":
                body: bytes | Iterator[bytes] | AsyncIterator[bytes] = json.dumps(
                    encode_json(member, value or {})
                ).encode()
                _default_content_type(headers, "application/json")
            else:
                body = b"" if value is None else value
                if isinstance(body, str):
                    body = body.encode()
                _default_content_type(headers, "application/octet-stream")
            return WireResponse(status, headers, body)
        bound = bound_members(shape)
        doc = encode_json(shape, {k: v for k, v in output.items() if k not in bound})
        _default_content_type(headers, "application/json")
        return WireResponse(status, headers, json.dumps(doc, separators=(",", ":")).encode())

    def serialize_error(
        self, model: ServiceModel, err: AwsError, request_id: str, req: WireRequest
    ) -> WireResponse:
        return WireResponse(
            err.status,
            [
                ("Content-Type", "application/json"),
                ("x-amzn-RequestId", request_id),
                ("x-amzn-ErrorType", err.code),
            ],
            json.dumps({"Message": err.message}).encode(),
        )


def _default_content_type(headers: list[tuple[str, str]], value: str) -> None:
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", value))
