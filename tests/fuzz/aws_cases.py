"""Malformed requests for every served AWS operation, generated from botocore's service models.

For each operation: a base request whose members have valid-looking values of their shapes, then one
mutation per case (a required member dropped, a wrong JSON type, an over-long string, a bad enum, a
number out of range) serialized by botocore itself without its client-side validation, plus
protocol-level damage (invalid or truncated JSON/XML/query bodies, wrong content types, bad UTF-8).
Each case is sent as a raw SigV4-signed request and its answer parsed by botocore's own parser.
"""

from __future__ import annotations

import copy
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.serialize
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest, create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from botocore.model import OperationModel, Shape

REGION = "us-east-1"
CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
MAX_MEMBERS = 10  # mutated members per operation (the first ones: required members come first)


@dataclass
class RawCase:
    operation: OperationModel
    label: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def value_for(shape: Shape, depth: int = 0) -> Any:
    """A value of `shape` that meets its constraints where a simple one does."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 3:
            return {}
        required = shape.required_members
        return {n: value_for(m, depth + 1) for n, m in shape.members.items() if n in required}
    if kind == "list":
        return [value_for(shape.member, depth + 1)]
    if kind == "map":
        return {"k": value_for(shape.value, depth + 1)}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        low = int(shape.metadata.get("min", 1))
        return ("fuzz-" + "a" * max(0, low - 5))[: max(low, 5)] if low <= 64 else "a" * low
    if kind in ("integer", "long"):
        return int(shape.metadata.get("min", 1))
    if kind in ("float", "double"):
        return float(shape.metadata.get("min", 1))
    if kind == "boolean":
        return True
    if kind == "blob":
        return b"not an image"
    if kind == "timestamp":
        return 1_700_000_000
    return None


def mutations(op: OperationModel) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, params) of the malformed variants of an operation's input."""
    shape = op.input_shape
    if shape is None:
        return
    base = value_for(shape)
    yield "base", base
    for name, member in list(shape.members.items())[:MAX_MEMBERS]:
        in_uri = member.serialization.get("location") == "uri"
        if name in shape.required_members and not in_uri:
            params = copy.deepcopy(base)
            params.pop(name, None)
            yield f"{name}: missing", params
        for label, bad in _bad_values(member):
            if in_uri and not isinstance(bad, str):
                continue
            params = copy.deepcopy(base)
            params[name] = bad
            yield f"{name}: {label}", params


def _bad_values(shape: Shape) -> Iterator[tuple[str, Any]]:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "string":
        yield "over-long", "x" * (int(meta.get("max", 4096)) + 1)
        if shape.enum:
            yield "bad enum", "NOT_AN_ENUM_VALUE"
        if meta.get("pattern"):
            yield "pattern", "\u2603 bad value \x00"
        yield "wrong type", {"not": "a string"}
    elif kind in ("integer", "long", "float", "double"):
        if "max" in meta:
            yield "over max", meta["max"] + 1
        if "min" in meta:
            yield "under min", meta["min"] - 1
        yield "wrong type", "not-a-number"
    elif kind == "structure":
        yield "wrong type", "not-a-structure"
        yield "wrong type", [1, 2]
    elif kind == "list":
        yield "wrong type", {"not": "a list"}
        if "max" in meta:
            yield "too many", [value_for(shape.member)] * (int(meta["max"]) + 1)
    elif kind == "map":
        yield "wrong type", ["not", "a", "map"]
    elif kind == "boolean":
        yield "wrong type", "maybe"
    elif kind == "blob":
        yield "over-long", b"\x00" * (int(meta.get("max", 5 * 1024 * 1024)) + 1)
    elif kind == "timestamp":
        yield "wrong type", "yesterday-ish"


def signed(
    op: OperationModel, url: str, request_dict: dict[str, Any], credentials: Credentials = CREDENTIALS
) -> RawCase:
    prepare_request_dict(request_dict, endpoint_url=url)
    request: AWSRequest = create_request_object(request_dict)
    auth_cls = S3SigV4Auth if op.service_model.protocol == "rest-xml" else SigV4Auth
    auth_cls(credentials, op.service_model.signing_name or op.service_model.endpoint_prefix, REGION).add_auth(
        request
    )
    prepared = request.prepare()
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = body.read()
    # the HTTP client sets the length of what it sends (a fuzzed ContentLength member cannot travel)
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    return RawCase(op, "", prepared.method, prepared.url, headers, body)


def serialize(op: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    """botocore's own request for `params` (no client-side validation); JSON protocols fall back to
    writing the JSON themselves when botocore cannot serialize a wrong type at all."""
    serializer = botocore.serialize.create_serializer(op.service_model.protocol, include_validation=False)
    try:
        return serializer.serialize_to_request(params, op)
    except (TypeError, ValueError, AttributeError, KeyError):
        if op.service_model.protocol not in ("json", "rest-json"):
            raise
        good = serializer.serialize_to_request(value_for(op.input_shape), op)
        body_members = {
            k: v for k, v in params.items() if op.input_shape.members[k].serialization.get("location") is None
        }
        good["body"] = json.dumps(body_members, default=str).encode()
        return good


def cases(url: str, op: OperationModel, credentials: Credentials = CREDENTIALS) -> Iterator[RawCase]:
    for label, params in mutations(op):
        try:
            request_dict = serialize(op, params)
        except (TypeError, ValueError, AttributeError, KeyError):
            continue  # botocore cannot even put this value on the wire (rest-xml/query types)
        case = signed(op, url, request_dict, credentials)
        if not all(str(v).isascii() for v in case.headers.values()):
            continue  # a header member with non-ASCII text cannot travel in an HTTP header
        case.label = label
        yield case
    yield from _protocol_damage(url, op, credentials)


def _protocol_damage(url: str, op: OperationModel, credentials: Credentials) -> Iterator[RawCase]:
    """Bodies no serializer would write: broken syntax, truncation, wrong content types, bad UTF-8."""
    protocol = op.service_model.protocol
    base = serialize(op, value_for(op.input_shape)) if op.input_shape is not None else None
    if base is None or op.has_streaming_input:
        return
    body = base["body"]
    if isinstance(body, dict):  # the query serializer leaves the form as a dict
        body = urllib.parse.urlencode(body).encode()
    body = body.encode() if isinstance(body, str) else (body or b"")
    if protocol in ("json", "rest-json"):
        damaged = [
            ("invalid JSON", b"{not json", None),
            ("truncated JSON", body[: max(1, len(body) // 2)], None),
            ("JSON array", b"[1, 2, 3]", None),
            ("JSON null", b"null", None),
            ("bad UTF-8", b'{"\xff\xfe": "\xc3\x28"}', None),
            ("deep nesting", b'{"a":' * 5000 + b"1" + b"}" * 5000, None),
            ("wrong content type", body, "text/plain"),
        ]
    elif protocol == "query":
        damaged = [
            ("bad percent-escapes", body + b"&%zz=%%%", None),
            ("truncated query", body[: max(1, len(body) // 2)], None),
            ("bad UTF-8", body + b"&Name=%ff%fe", None),
            ("JSON instead of a query", b'{"Action": "CreateTopic"}', "application/json"),
        ]
    else:  # rest-xml: only operations with an XML payload take a body
        if not body:
            return
        damaged = [
            ("invalid XML", b"<not-closed><a>", None),
            ("truncated XML", body[: max(1, len(body) // 2)], None),
            ("entity expansion", _billion_laughs(), None),
            (
                "external entity",
                b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
                None,
            ),
            ("wrong content type", body, "application/json"),
        ]
    for label, data, content_type in damaged:
        request_dict = copy.deepcopy(base)
        request_dict["body"] = data
        if content_type is not None:
            request_dict["headers"]["Content-Type"] = content_type
        request_dict["headers"].pop("Content-MD5", None)
        case = signed(op, url, request_dict, credentials)
        case.label = label
        yield case


def _billion_laughs() -> bytes:
    entities = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    doc = f"<!DOCTYPE Delete [{entities}]><Delete><Object><Key>&l9;</Key></Object></Delete>"
    return ('<?xml version="1.0"?>' + doc).encode()
