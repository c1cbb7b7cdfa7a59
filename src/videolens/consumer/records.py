"""What a consumer hands out (records, batches, the Lambda event shape) and what a source answers."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float  # epoch seconds

    def lambda_record(self, stream_arn: str, region: str) -> dict[str, Any]:
        """This record as an AWS Lambda Kinesis event source hands it to a function."""
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": self.partition_key,
                "sequenceNumber": self.sequence_number,
                "data": base64.b64encode(self.data).decode(),
                "approximateArrivalTimestamp": self.arrival,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{self.shard_id}:{self.sequence_number}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{stream_arn.split(':')[4]}:role/videolens-consumer",
            "awsRegion": region,
            "eventSourceARN": stream_arn,
        }


@dataclass(frozen=True, slots=True)
class Batch:
    """The records of one GetRecords page of one shard (possibly empty at a shard's end)."""

    shard_id: str
    records: list[Record]
    millis_behind_latest: int
    stream_arn: str
    region: str

    def lambda_event(self) -> dict[str, Any]:
        return {"Records": [r.lambda_record(self.stream_arn, self.region) for r in self.records]}


@dataclass(frozen=True, slots=True)
class ShardRef:
    shard_id: str
    parents: tuple[str, ...]


@dataclass(slots=True)
class Page:
    records: list[Record]
    next_iterator: str | None
    children: list[ShardRef]
    millis_behind_latest: int


class Throttled(Exception):
    """The shard's read limit was hit; read it again a little later."""


class ExpiredIterator(Exception):
    """The iterator outlived its expiry; get a new one from the checkpoint."""
