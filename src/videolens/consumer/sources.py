"""Where a consumer reads from: a boto3 kinesis client (any Kinesis endpoint) or the service in-process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from videolens.consumer.records import ExpiredIterator, Page, Record, ShardRef, Throttled

if TYPE_CHECKING:
    from videolens.services.datastreams.service import DataStreamsService


class ShardSource(Protocol):
    """Where a consumer reads from: the four Kinesis read calls, stream already chosen."""

    stream_arn: str
    region: str

    def shards(self) -> list[ShardRef]: ...

    def iterator(
        self, shard_id: str, kind: str, sequence_number: str | None, timestamp: float | None
    ) -> str: ...

    def read(self, shard_id: str, iterator: str, limit: int) -> Page: ...


class KinesisSource:
    """Reads through a boto3 `kinesis` client (any Kinesis-compatible endpoint)."""

    def __init__(self, client: Any, stream_name: str) -> None:
        self.client = client
        self.stream_name = stream_name
        summary = client.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
        self.stream_arn: str = summary["StreamARN"]
        self.region: str = client.meta.region_name

    def shards(self) -> list[ShardRef]:
        out: list[ShardRef] = []
        kwargs: dict[str, Any] = {"StreamName": self.stream_name}
        while True:
            page = self.client.list_shards(**kwargs)
            out += [ShardRef(s["ShardId"], _parents(s)) for s in page["Shards"]]
            if not page.get("NextToken"):
                return out
            kwargs = {"NextToken": page["NextToken"]}

    def iterator(self, shard_id: str, kind: str, sequence_number: str | None, timestamp: float | None) -> str:
        kwargs: dict[str, Any] = {
            "StreamName": self.stream_name,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence_number is not None:
            kwargs["StartingSequenceNumber"] = sequence_number
        if timestamp is not None:
            kwargs["Timestamp"] = datetime.fromtimestamp(timestamp, UTC)
        return str(self._call(self.client.get_shard_iterator, **kwargs)["ShardIterator"])

    def read(self, shard_id: str, iterator: str, limit: int) -> Page:
        answer = self._call(self.client.get_records, ShardIterator=iterator, Limit=limit)
        records = [
            Record(
                shard_id,
                r["SequenceNumber"],
                r["PartitionKey"],
                r["Data"],
                r["ApproximateArrivalTimestamp"].timestamp(),
            )
            for r in answer["Records"]
        ]
        children = [ShardRef(c["ShardId"], tuple(c["ParentShards"])) for c in answer.get("ChildShards") or []]
        return Page(records, answer.get("NextShardIterator"), children, answer.get("MillisBehindLatest", 0))

    @staticmethod
    def _call(method: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return method(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ProvisionedThroughputExceededException":
                raise Throttled(code) from exc
            if code == "ExpiredIteratorException":
                raise ExpiredIterator(code) from exc
            raise


def _parents(shard: dict[str, Any]) -> tuple[str, ...]:
    return tuple(p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p)


class ServiceSource:
    """Reads in-process from the data streams service (the CLI on its data directory, tests)."""

    def __init__(self, service: DataStreamsService, stream_name: str) -> None:
        self.service = service
        self.stream_name = stream_name
        info = service.describe_stream_summary(stream_name)
        self.stream_arn = info.arn
        self.region = service.settings.region

    def shards(self) -> list[ShardRef]:
        out: list[ShardRef] = []
        token: str | None = None
        while True:
            page, token = self.service.list_shards(None if token else self.stream_name, next_token=token)
            out += [
                ShardRef(s.shard_id, tuple(p for p in (s.parent_shard_id, s.adjacent_parent_shard_id) if p))
                for s in page
            ]
            if not token:
                return out

    def iterator(self, shard_id: str, kind: str, sequence_number: str | None, timestamp: float | None) -> str:
        from videolens.services.datastreams.errors import ThroughputExceededError

        try:
            return self.service.get_shard_iterator(
                shard_id,
                kind,
                starting_sequence_number=sequence_number,
                timestamp=timestamp,
                name=self.stream_name,
            )
        except ThroughputExceededError as exc:
            raise Throttled(str(exc)) from exc

    def read(self, shard_id: str, iterator: str, limit: int) -> Page:
        from videolens.services.datastreams.errors import ExpiredIteratorError, ThroughputExceededError

        try:
            page = self.service.get_records(iterator, limit)
        except ThroughputExceededError as exc:
            raise Throttled(str(exc)) from exc
        except ExpiredIteratorError as exc:
            raise ExpiredIterator(str(exc)) from exc
        records = [
            Record(shard_id, r.sequence_number, r.partition_key, r.data, r.arrival) for r in page.records
        ]
        children = [ShardRef(c.shard_id, tuple(c.parent_shards)) for c in page.child_shards or []]
        return Page(records, page.next_iterator, children, page.millis_behind_latest)
