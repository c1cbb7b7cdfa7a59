"""The consumer loop: every shard of a stream, parents before children, checkpointing what it handed out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from videolens.consumer.checkpoints import SHARD_END, Checkpoints, MemoryCheckpoints
from videolens.consumer.records import Batch, ExpiredIterator, Record, Throttled
from videolens.consumer.sources import KinesisSource, ShardSource

#: wait this long after a throttled read of a shard (AWS allows 5 GetRecords per second per shard)
THROTTLE_BACKOFF_S = 0.25


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
                    if any(p not in parents for c in page.children for p in c.parents):
                        # a merge with a shard born after our listing: learn it, or the child
                        # would not wait for it (an unknown parent counts as trimmed away)
                        for shard in self.source.shards():
                            parents.setdefault(shard.shard_id, shard.parents)
                            starts.setdefault(shard.shard_id, ("TRIM_HORIZON", None, None))
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
