"""Enhanced fan-out: registered consumers (SQL rows) and their SubscribeToShard subscriptions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from videolens.backends.metadata.tables.datastreams import DataStreamConsumerRow
from videolens.services.datastreams.catalog import StreamState
from videolens.services.datastreams.errors import (
    InvalidArgumentError,
    StreamLimitExceededError,
    StreamNotFoundError,
)
from videolens.services.datastreams.models import ConsumerInfo, SubscriptionEvent

if TYPE_CHECKING:
    from videolens.services.datastreams.service import DataStreamsService, StartingPosition

MAX_CONSUMERS = 20


class FanOut:
    def __init__(self, service: DataStreamsService) -> None:
        self.svc = service

    def _info(self, row: DataStreamConsumerRow, stream_arn: str) -> ConsumerInfo:
        return ConsumerInfo(
            name=row.name,
            arn=row.arn,
            status=row.status,
            created_at=row.created_at,
            stream_arn=stream_arn,
        )

    def register(self, state: StreamState, consumer_name: str) -> ConsumerInfo:
        if len(self.svc.catalog.consumers(state.key)) >= MAX_CONSUMERS:
            raise StreamLimitExceededError(
                f"Consumer limit of 20 reached for stream {state.name} under account {self.svc.account_id}."
            )
        return self._info(self.svc.catalog.add_consumer(state, consumer_name), state.arn)

    def find(
        self, stream_arn: str | None, consumer_name: str | None, consumer_arn: str | None
    ) -> tuple[DataStreamConsumerRow, StreamState]:
        if consumer_arn:
            row = self.svc.catalog.consumer(consumer_arn)
            if row is None:
                raise StreamNotFoundError(
                    f"Consumer {consumer_arn} under account {self.svc.account_id} not found."
                )
            return row, self.svc.catalog.consumer_stream(row)
        if not stream_arn or not consumer_name:
            raise InvalidArgumentError(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided."
            )
        state = self.svc.stream_state(None, stream_arn, fresh=True)
        for row in self.svc.catalog.consumers(state.key):
            if row.name == consumer_name:
                return row, state
        raise StreamNotFoundError(
            f"Consumer {consumer_name} under stream {state.name} under account {self.svc.account_id} "
            "not found."
        )

    def describe(
        self,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        consumer_arn: str | None = None,
    ) -> ConsumerInfo:
        row, state = self.find(stream_arn, consumer_name, consumer_arn)
        return self._info(row, state.arn)

    def list(
        self, state: StreamState, max_results: int, next_token: str | None
    ) -> tuple[list[ConsumerInfo], str | None]:
        from videolens.services.datastreams.paging import decode_after, encode_after

        rows = self.svc.catalog.consumers(state.key)
        if next_token:
            after = decode_after("consumers", next_token)
            rows = [r for r in rows if r.arn > after]
        rows.sort(key=lambda r: r.arn)
        page = rows[:max_results]
        token = encode_after("consumers", page[-1].arn) if len(rows) > max_results and page else None
        return [self._info(r, state.arn) for r in page], token

    def deregister(
        self,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        consumer_arn: str | None = None,
    ) -> None:
        row, _state = self.find(stream_arn, consumer_name, consumer_arn)
        self.svc.catalog.remove_consumer(row.arn)

    def subscribe(
        self, consumer_arn: str, shard_id: str, start: StartingPosition
    ) -> Iterator[SubscriptionEvent | None]:
        """Validate at once (raises before the first event), then yield events as records arrive
        (and None about once a second between them: a point where the caller may stop).

        Blocking generator (run it in a thread); ends after `settings.datastreams_subscription_s`
        (5 minutes) or after the event that carries a closed shard's ChildShards.
        """
        from videolens.services.datastreams.subscriptions import subscription

        row, state = self.find(None, None, consumer_arn)
        shard = self.svc.records.shard_of(state, shard_id)
        token = self.svc.records.iterator(state, shard, start.type, start.sequence_number, start.timestamp)
        first = self.svc.iterators.decode(token).start
        return subscription(self.svc, state, shard, first, self.svc.settings.datastreams_subscription_s)
