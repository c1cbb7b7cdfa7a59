"""Test helper: read a whole Kinesis shard the way a well-behaved consumer does, within the read limit."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

#: a shard answers 5 GetRecords calls a second (as AWS's does); a test that polls faster waits its turn
THROTTLED = "ProvisionedThroughputExceededException"


def shard_records(
    kinesis: Any, stream: str, shard_id: str, *, patience_s: float = 30.0
) -> list[dict[str, Any]]:
    """Every record of one shard from TRIM_HORIZON, backing off when the shard says it is read too often."""
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + patience_s
    while iterator:
        try:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
        except ClientError as e:
            if e.response["Error"]["Code"] != THROTTLED or time.monotonic() > deadline:
                raise
            time.sleep(0.25)
            continue
        out += page["Records"]
        if not page["Records"]:
            break
        iterator = page.get("NextShardIterator")
    return out
