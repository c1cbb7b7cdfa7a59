"""A small data-stream consumer: reads every shard of a stream with checkpoints, following child shards.

It reads through a boto3 `kinesis` client (videolens' AWS door, or AWS itself: `KinesisSource`) or
in-process on a `DataStreamsService` (`ServiceSource`), and hands records as `Record`s, as batches, or
as Lambda-style events (`event['Records'][i]['kinesis']['data']`, base64).

Guarantees:
- At least once: a batch is checkpointed only when the caller asks for the next one (or its handler
  returned), so a crash re-delivers at most the batch in hand per shard; never a gap.
- Per-key order across resharding: a child shard is read only after every parent was read to its end
  (`ChildShards`), so records of one partition key come in sequence order, parents first.
- A restart with the same checkpoints resumes after the last checkpointed record of each shard;
  shards read to their end are remembered (`SHARD_END`) so their children start at their beginning.
- Memory holds one page per shard read (`limit` records), whatever the stream's length.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from videolens.services.datastreams.service import DataStreamsService

#: the checkpoint of a shard that was read to its end (closed by a split or merge)
SHARD_END = "SHARD_END"
#: wait this long after a throttled read of a shard (AWS allows 5 GetRecords per second per shard)
THROTTLE_BACKOFF_S = 0.25


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


class Checkpoints(Protocol):
    """Where the consumer keeps, per shard, the last sequence number handled (or SHARD_END)."""

    def get(self, shard_id: str) -> str | None: ...

    def set(self, shard_id: str, value: str) -> None: ...


@dataclass
class MemoryCheckpoints:
    values: dict[str, str] = field(default_factory=dict)

    def get(self, shard_id: str) -> str | None:
        return self.values.get(shard_id)

    def set(self, shard_id: str, value: str) -> None:
        self.values[shard_id] = value


class FileCheckpoints:
    """Checkpoints in a JSON file, replaced atomically on each update (survives a crash of the reader)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.values: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, shard_id: str) -> str | None:
        return self.values.get(shard_id)

    def set(self, shard_id: str, value: str) -> None:
        self.values[shard_id] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        with os.fdopen(fd, "w") as f:
            json.dump(self.values, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def start_kind(start: str | float | datetime) -> tuple[str, float | None]:
    """`trim-horizon` | `latest` | an ISO timestamp | epoch seconds → (iterator type, timestamp)."""
    if isinstance(start, datetime):
        moment = start if start.tzinfo else start.replace(tzinfo=UTC)
        return "AT_TIMESTAMP", moment.timestamp()
    if isinstance(start, int | float):
        return "AT_TIMESTAMP", float(start)
    word = start.strip().lower().replace("_", "-")
    if word == "trim-horizon":
        return "TRIM_HORIZON", None
    if word == "latest":
        return "LATEST", None
    try:
        return start_kind(datetime.fromisoformat(start.strip().replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(f"start must be trim-horizon, latest or an ISO timestamp, not {start!r}") from None


class StreamConsumer:
    """Reads all shards of one stream, parents before children, checkpointing what it handed out."""

    def __init__(
        self,
        source: ShardSource,
        *,
        checkpoints: Checkpoints | None = None,
        start: str | float | datetime = "trim-horizon",
        limit: int = 1000,
        idle_s: float = 0.2,
    ) -> None:
        self.source = source
        self.checkpoints: Checkpoints = checkpoints if checkpoints is not None else MemoryCheckpoints()
        self.start_type, self.start_ts = start_kind(start)
        self.limit = limit
        self.idle_s = idle_s
        self._stop = threading.Event()

    @classmethod
    def from_endpoint(cls, endpoint_url: str, stream_name: str, **kwargs: Any) -> StreamConsumer:
        """A consumer on a Kinesis endpoint through boto3 (credentials and region from the environment,
        else the dev defaults a loopback videolens accepts)."""
        import boto3

        session = boto3.session.Session()
        client = boto3.client(
            "kinesis",
            endpoint_url=endpoint_url,
            region_name=session.region_name or "us-east-1",
            aws_access_key_id=None if session.get_credentials() else "AKIDVIDEOLENSDEV",
            aws_secret_access_key=None if session.get_credentials() else "videolens-dev",
        )
        return cls(KinesisSource(client, stream_name), **kwargs)

    def stop(self) -> None:
        """Make `batches()` return after the page in hand (from another thread or a signal handler)."""
        self._stop.set()

    def batches(self, *, follow: bool = True) -> Iterator[Batch]:
        """Pages as they are read; `follow=False` returns once every shard is caught up."""
        listed = self.source.shards()
        parents = {s.shard_id: s.parents for s in listed}
        finished = {s.shard_id for s in listed if self.checkpoints.get(s.shard_id) == SHARD_END}
        iterators: dict[str, str] = {}
        starts: dict[str, tuple[str, str | None, float | None]] = {}
        for shard in listed:
            if shard.shard_id in finished:
                continue
            done = self.checkpoints.get(shard.shard_id)
            if done:
                starts[shard.shard_id] = ("AFTER_SEQUENCE_NUMBER", done, None)
            elif any(p in finished for p in shard.parents):
                starts[shard.shard_id] = ("TRIM_HORIZON", None, None)  # its parent was read to its end
            else:
                starts[shard.shard_id] = (self.start_type, None, self.start_ts)
            if starts[shard.shard_id][0] == "LATEST":  # fix "latest" now, not when the shard's turn comes
                iterators[shard.shard_id] = self._iterator(shard.shard_id, starts[shard.shard_id])
        throttled_until: dict[str, float] = {}

        while not self._stop.is_set():
            ready = [
                sid
                for sid in starts
                if sid not in finished
                and all(p in finished or p not in parents for p in parents.get(sid, ()))
                and throttled_until.get(sid, 0.0) <= time.monotonic()
            ]
            if not ready and not [s for s in starts if s not in finished]:
                return  # every shard read to its end (the stream was deleted or fully resharded)
            progressed, caught_up = False, True
            for sid in ready:
                if sid not in iterators:
                    iterators[sid] = self._iterator(sid, starts[sid])
                try:
                    page = self.source.read(sid, iterators[sid], self.limit)
                except Throttled:
                    throttled_until[sid] = time.monotonic() + THROTTLE_BACKOFF_S
                    caught_up = False
                    continue
                except ExpiredIterator:
                    iterators.pop(sid)
                    done = self.checkpoints.get(sid)
                    if done:
                        starts[sid] = ("AFTER_SEQUENCE_NUMBER", done, None)
                    caught_up = False
                    continue
                records = page.records
                if records:
                    progressed = True
                    yield Batch(
                        sid, records, page.millis_behind_latest, self.source.stream_arn, self.source.region
                    )
                    self.checkpoints.set(sid, records[-1].sequence_number)
                if page.millis_behind_latest > 0 or len(records) == self.limit:
                    caught_up = False
                if page.next_iterator is None:
                    finished.add(sid)
                    self.checkpoints.set(sid, SHARD_END)
                    for child in page.children:
                        parents.setdefault(child.shard_id, child.parents)
                        starts.setdefault(child.shard_id, ("TRIM_HORIZON", None, None))
                    progressed = True
                else:
                    iterators[sid] = page.next_iterator
                if self._stop.is_set():
                    return
            if not progressed:
                if caught_up and not follow:
                    return
                self._stop.wait(self.idle_s)

    def records(self, *, follow: bool = True) -> Iterator[Record]:
        for batch in self.batches(follow=follow):
            yield from batch.records

    def lambda_events(self, *, follow: bool = True) -> Iterator[dict[str, Any]]:
        """One Lambda-style event (`{"Records": [...]}`) per page of one shard."""
        for batch in self.batches(follow=follow):
            yield batch.lambda_event()

    def run(self, handler: Callable[[dict[str, Any]], Any], *, follow: bool = True) -> None:
        """Call Lambda-style code `handler(event)` once per page; checkpoint when it returns."""
        for event in self.lambda_events(follow=follow):
            handler(event)

    def _iterator(self, shard_id: str, start: tuple[str, str | None, float | None]) -> str:
        kind, seq, ts = start
        while True:
            try:
                return self.source.iterator(shard_id, kind, seq, ts)
            except Throttled:
                time.sleep(THROTTLE_BACKOFF_S)
