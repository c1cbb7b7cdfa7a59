"""Fast input checks of the Kinesis door's hot path (PutRecord / PutRecords), with botocore's messages.

PutRecords carries up to 500 records a call: the generic model-driven validation costs more than the
put itself there, so these two operations are checked here, exactly, and skip it (`fully_prevalidated`).
"""

from __future__ import annotations

import re
from typing import Any

from videolens.api.aws.errors import ParamValidationError

_NAME = re.compile(r"[a-zA-Z0-9_.-]+")
_ARN = re.compile(r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+")
_STREAM_ID = re.compile(r"[a-z0-9]{20}-[a-z0-9]{3}")
_HASH_KEY = re.compile(r"0|([1-9]\d{0,38})")
_SEQUENCE = re.compile(r"0|([1-9]\d{0,128})")
_MAX_DATA = 10 * 1024 * 1024


def _fail(where: str, what: str) -> None:
    raise ParamValidationError(f"Value at '{where}' failed to satisfy constraint: {what}")


def _check_str(value: Any, where: str, lo: int, hi: int, pattern: re.Pattern[str] | None = None) -> None:
    if not isinstance(value, str):
        raise ParamValidationError(f"{where}: expected a string")
    if not lo <= len(value) <= hi:
        _fail(where, f"Member must have length between {lo} and {hi}")
    if pattern is not None and not pattern.fullmatch(value):
        _fail(where, f"Member must satisfy regular expression pattern: {pattern.pattern}")


def _check_target(p: dict[str, Any]) -> None:
    if "StreamName" in p:
        _check_str(p["StreamName"], "streamName", 1, 128, _NAME)
    if "StreamARN" in p:
        _check_str(p["StreamARN"], "streamARN", 1, 2048, _ARN)
    if "StreamId" in p:
        _check_str(p["StreamId"], "streamId", 1, 24, _STREAM_ID)
    if "DryRun" in p and not isinstance(p["DryRun"], bool):
        raise ParamValidationError("DryRun: expected a boolean")


def _check_entry(r: Any, where: str) -> None:
    if not isinstance(r, dict):
        raise ParamValidationError(f"{where}: expected an object")
    data = r.get("Data")
    if data is None:
        raise ParamValidationError(f"Missing required parameter {where}.Data")
    if not isinstance(data, bytes):
        raise ParamValidationError(f"{where}.Data: expected bytes")
    if len(data) > _MAX_DATA:
        _fail(f"{where}.data", f"Member must have length less than or equal to {_MAX_DATA}")
    if "PartitionKey" in r:
        _check_str(r["PartitionKey"], f"{where}.partitionKey", 1, 256)
    if "ExplicitHashKey" in r:
        _check_str(r["ExplicitHashKey"], f"{where}.explicitHashKey", 0, 1 << 20, _HASH_KEY)


def prevalidate(op: str, p: dict[str, Any]) -> None:
    """PutRecord(s): every model constraint of the input shape, without the generic walk (hot path)."""
    if op == "PutRecords":
        _check_target(p)
        records = p.get("Records")
        if records is None:
            raise ParamValidationError("Missing required parameter Records")
        if not isinstance(records, list):
            raise ParamValidationError("Records: expected a list")
        if not 1 <= len(records) <= 500:
            _fail("records", "Member must have length between 1 and 500")
        for i, r in enumerate(records):
            _check_entry(r, f"records.{i + 1}.member")
    elif op == "PutRecord":
        _check_target(p)
        _check_entry(p, "")
        if "SequenceNumberForOrdering" in p:
            _check_str(p["SequenceNumberForOrdering"], "sequenceNumberForOrdering", 0, 1 << 20, _SEQUENCE)
