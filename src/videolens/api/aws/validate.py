"""Server-side input validation against a botocore shape: everything botocore leaves to the server.

botocore checks required members, types and minima on the client; AWS also enforces maxima, regex
patterns, enums and ranges on the server, and so do we (a hand-crafted request gets the same answer).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from botocore.model import Shape

from videolens.api.aws.errors import ParamValidationError


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # Java-only syntax (\p{...}) - AWS checks it, we cannot; skip rather than reject
        return None


def validate(shape: Shape, value: Any, path: str = "") -> None:
    """Raise `ParamValidationError` naming the first member that breaks the shape's constraints."""
    name = path or shape.name
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ParamValidationError(f"{name}: expected an object")
        for req in shape.required_members:
            if value.get(req) is None:
                raise ParamValidationError(f"Missing required parameter {_join(path, req)}")
        for key, item in value.items():
            member = shape.members.get(key)
            if member is not None and item is not None:
                validate(member, item, _join(path, key))
        return
    if kind == "list":
        if not isinstance(value, list):
            raise ParamValidationError(f"{name}: expected a list")
        _check_length(shape, len(value), name, "items")
        for i, item in enumerate(value):
            validate(shape.member, item, f"{name}[{i}]")
        return
    if kind == "map":
        if not isinstance(value, dict):
            raise ParamValidationError(f"{name}: expected a map")
        _check_length(shape, len(value), name, "entries")
        for key, item in value.items():
            validate(shape.key, key, f"{name}.key")
            validate(shape.value, item, f"{name}[{key}]")
        return
    if kind == "string":
        if not isinstance(value, str):
            raise ParamValidationError(f"{name}: expected a string")
        _check_length(shape, len(value), name, "characters")
        enum = shape.enum
        if enum and value not in enum:
            raise ParamValidationError(
                f"Value '{value}' at '{name}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        pattern = shape.metadata.get("pattern")
        if pattern:
            compiled = _pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                raise ParamValidationError(
                    f"Value '{value[:100]}' at '{name}' failed to satisfy constraint: "
                    f"Member must satisfy regular expression pattern: {pattern}"
                )
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamValidationError(f"{name}: expected an integer")
        _check_range(shape, value, name)
        return
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamValidationError(f"{name}: expected a number")
        _check_range(shape, float(value), name)
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ParamValidationError(f"{name}: expected a boolean")
        return
    if kind == "blob":
        if isinstance(value, bytes | bytearray):
            _check_length(shape, len(value), name, "bytes")
        return  # streaming blobs are readers, checked while read
    if kind == "timestamp" and not isinstance(value, dt.datetime):
        raise ParamValidationError(f"{name}: expected a timestamp")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_length(shape: Shape, length: int, name: str, unit: str) -> None:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if lo is not None and length < lo:
        raise ParamValidationError(
            f"Value at '{name}' failed to satisfy constraint: Member must have length greater than or "
            f"equal to {lo}"
        )
    if hi is not None and length > hi:
        raise ParamValidationError(
            f"Value at '{name}' failed to satisfy constraint: Member must have length less than or "
            f"equal to {hi} ({unit})"
        )


def _check_range(shape: Shape, value: float, name: str) -> None:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if lo is not None and value < lo:
        raise ParamValidationError(
            f"Value '{value}' at '{name}' failed to satisfy constraint: Member must have value greater "
            f"than or equal to {lo}"
        )
    if hi is not None and value > hi:
        raise ParamValidationError(
            f"Value '{value}' at '{name}' failed to satisfy constraint: Member must have value less "
            f"than or equal to {hi}"
        )
