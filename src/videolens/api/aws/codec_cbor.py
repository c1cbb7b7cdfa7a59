"""AWS CBOR 1.1 (`application/x-amz-cbor-1.1`, the Java SDK's default for Kinesis), model-driven.

Blobs are CBOR byte strings; timestamps are tag 1 over epoch *milliseconds* (an integer) in both
directions — what the Java SDK v1/v2 send and expect, though RFC 8949 says seconds. cbor2's decoder
turns tag 1 into a datetime (and fails on milliseconds), so requests are read by the small decoder
here, which keeps tags as they are; answers are written with cbor2.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import cbor2
from botocore.model import Shape

from videolens.api.aws.errors import AwsError, ParamValidationError

CBOR11 = "application/x-amz-cbor-1.1"


class _Tag:
    __slots__ = ("tag", "value")

    def __init__(self, tag: int, value: Any) -> None:
        self.tag = tag
        self.value = value


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ValueError("truncated CBOR")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def _arg(self, info: int) -> int | None:
        if info < 24:
            return info
        if info == 31:
            return None  # indefinite length
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        if info not in sizes:
            raise ValueError("bad CBOR argument")
        return int.from_bytes(self._take(sizes[info]), "big")

    def item(self, depth: int = 0) -> Any:
        if depth > 64:
            raise ValueError("CBOR nested too deeply")
        initial = self._take(1)[0]
        major, info = initial >> 5, initial & 31
        if major == 7:
            if info == 20:
                return False
            if info == 21:
                return True
            if info in (22, 23):
                return None
            if info == 25:
                return _half(self._take(2))
            if info == 26:
                return struct.unpack(">f", self._take(4))[0]
            if info == 27:
                return struct.unpack(">d", self._take(8))[0]
            raise ValueError("unsupported CBOR simple value")
        arg = self._arg(info)
        if major == 0:
            return arg
        if major == 1:
            return -1 - (arg or 0)
        if major in (2, 3):
            if arg is None:
                parts = []
                while self.data[self.pos] != 0xFF:
                    parts.append(self.item(depth + 1))
                self.pos += 1
                raw = b"".join(p if isinstance(p, bytes) else p.encode() for p in parts)
            else:
                raw = self._take(arg)
            return raw if major == 2 else raw.decode()
        if major == 4:
            out = []
            if arg is None:
                while self.data[self.pos] != 0xFF:
                    out.append(self.item(depth + 1))
                self.pos += 1
            else:
                out = [self.item(depth + 1) for _ in range(arg)]
            return out
        if major == 5:
            doc: dict[Any, Any] = {}
            count = 0
            while (arg is None and self.data[self.pos] != 0xFF) or (arg is not None and count < arg):
                key = self.item(depth + 1)
                doc[key] = self.item(depth + 1)
                count += 1
            if arg is None:
                self.pos += 1
            return doc
        return _Tag(arg or 0, self.item(depth + 1))


def _half(raw: bytes) -> float:
    return float(struct.unpack(">e", raw)[0])


def loads(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        reader = _Reader(body)
        doc = reader.item()
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise AwsError("SerializationException", f"Request body is not valid CBOR: {exc}") from exc
    if not isinstance(doc, dict):
        raise AwsError("SerializationException", "Request body must be a CBOR map")
    return doc


def decode_cbor(shape: Shape, value: Any, name: str = "") -> Any:
    """CBOR request value → Python (blobs stay bytes, timestamps → datetime from epoch ms)."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = shape.members.get(key) if isinstance(key, str) else None
            if member is not None and item is not None:
                out[key] = decode_cbor(member, item, f"{name}.{key}" if name else key)
        return out
    if kind == "list" and isinstance(value, list):
        return [decode_cbor(shape.member, v, name) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: decode_cbor(shape.value, v, name) for k, v in value.items()}
    if kind == "blob":
        if isinstance(value, str):
            return value.encode()
        if not isinstance(value, bytes):
            raise ParamValidationError(f"{name or shape.name}: expected a byte string")
        return value
    if kind == "timestamp":
        raw = value.value if isinstance(value, _Tag) else value
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ParamValidationError(f"{name or shape.name}: invalid timestamp")
        try:
            return dt.datetime.fromtimestamp(raw / 1000, dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ParamValidationError(f"{name or shape.name}: timestamp out of range") from exc
    if isinstance(value, _Tag):
        return value.value
    if kind in ("float", "double") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def encode_cbor(shape: Shape, value: Any, name: str = "") -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                raise TypeError(f"{name or shape.name}: unknown output member {key!r}")
            if item is not None:
                out[key] = encode_cbor(member, item, f"{name}.{key}")
        return out
    if kind == "list":
        return [encode_cbor(shape.member, v, name) for v in value]
    if kind == "map":
        return {str(k): encode_cbor(shape.value, v, name) for k, v in value.items()}
    if kind == "blob":
        return bytes(value)
    if kind == "timestamp":
        return cbor2.CBORTag(1, int(round(value.timestamp() * 1000)))
    if kind in ("float", "double"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value


def dumps(doc: Any) -> bytes:
    return cbor2.dumps(doc)
