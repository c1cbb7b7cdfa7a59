"""Scalar and nested value conversion by botocore shape: JSON bodies, headers and query strings."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import json
import math
from typing import Any

from botocore.model import Shape

from videolens.api.aws.errors import ParamValidationError

UTC = dt.UTC


def to_datetime(value: Any, name: str = "timestamp") -> dt.datetime:
    """Epoch seconds (number or numeric string), ISO-8601 or RFC-822 → aware UTC datetime."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ParamValidationError(f"{name}: invalid timestamp")
    if isinstance(value, int | float):
        if not math.isfinite(value) or abs(value) > 253402300799:
            raise ParamValidationError(f"{name}: timestamp out of range")
        return dt.datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return to_datetime(float(value), name)
        except ValueError:
            pass
        try:
            return to_datetime(dt.datetime.fromisoformat(value.replace("Z", "+00:00")), name)
        except ValueError:
            pass
        try:
            return to_datetime(email.utils.parsedate_to_datetime(value), name)
        except (TypeError, ValueError):
            pass
    raise ParamValidationError(f"{name}: invalid timestamp {value!r}")


def epoch_seconds(value: dt.datetime) -> int | float:
    ts = round(to_datetime(value).timestamp(), 3)
    return int(ts) if ts == int(ts) else ts


def iso8601(value: dt.datetime) -> str:
    v = to_datetime(value).astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def rfc822(value: dt.datetime) -> str:
    return email.utils.format_datetime(to_datetime(value).astimezone(UTC), usegmt=True)


def format_timestamp(shape: Shape, value: dt.datetime, default: str) -> str | int | float:
    fmt = shape.serialization.get("timestampFormat") or shape.metadata.get("timestampFormat") or default
    if fmt == "unixTimestamp":
        return epoch_seconds(value)
    if fmt == "rfc822":
        return rfc822(value)
    return iso8601(value)


def decode_blob(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise ParamValidationError(f"{name}: expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ParamValidationError(f"{name}: invalid base64") from exc


def decode_json(shape: Shape, value: Any, name: str = "") -> Any:
    """JSON request value → Python (blobs → bytes, timestamps → datetime); types checked later."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out: dict[str, Any] = {}
        # rest-json members may travel under a locationName (MediaLive: "name" for Name)
        by_wire: dict[str, str] = {str(m.serialization.get("name", k)): k for k, m in shape.members.items()}
        for wire_key, item in value.items():
            key: str = by_wire.get(str(wire_key), str(wire_key))
            member = shape.members.get(key)
            # unknown members are ignored like AWS's JSON services do
            if member is not None and item is not None:
                out[key] = decode_json(member, item, f"{name}.{key}" if name else key)
        return out
    if kind == "list" and isinstance(value, list):
        return [decode_json(shape.member, v, name) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: decode_json(shape.value, v, name) for k, v in value.items()}
    if kind == "blob":
        return decode_blob(value, name or shape.name)
    if kind == "timestamp":
        return to_datetime(value, name or shape.name)
    if kind in ("float", "double") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def encode_json(shape: Shape, value: Any, name: str = "") -> Any:
    """Handler output → JSON-ready value; an unknown member is a bug and raises TypeError."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise TypeError(f"{name or shape.name}: expected dict, got {type(value).__name__}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                raise TypeError(f"{name or shape.name}: unknown output member {key!r}")
            if item is None:
                continue
            out[member.serialization.get("name", key)] = encode_json(member, item, f"{name}.{key}")
        return out
    if kind == "list":
        return [encode_json(shape.member, v, name) for v in value]
    if kind == "map":
        return {str(k): encode_json(shape.value, v, name) for k, v in value.items()}
    if kind == "blob":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "timestamp":
        return format_timestamp(shape, value, "unixTimestamp")
    if kind in ("float", "double"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value


def from_string(shape: Shape, text: str, name: str) -> Any:
    """A header / query-string / URI value → Python by shape."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError as exc:
        raise ParamValidationError(f"{name}: invalid number {text!r}") from exc
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ParamValidationError(f"{name}: invalid boolean {text!r}")
        return text.lower() == "true"
    if kind == "timestamp":
        return to_datetime(text, name)
    if kind == "blob":
        return decode_blob(text, name)
    if kind == "list":
        return [from_string(shape.member, part.strip(), name) for part in text.split(",")]
    if shape.serialization.get("jsonvalue") or shape.metadata.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text))
        except (ValueError, binascii.Error) as exc:
            raise ParamValidationError(f"{name}: invalid JSON value") from exc
    return text


def to_header(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "timestamp":
        return str(format_timestamp(shape, value, "rfc822"))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "list":
        return ",".join(to_header(shape.member, v) for v in value)
    if shape.serialization.get("jsonvalue") or shape.metadata.get("jsonvalue"):
        return base64.b64encode(json.dumps(value).encode()).decode("ascii")
    return str(value)
