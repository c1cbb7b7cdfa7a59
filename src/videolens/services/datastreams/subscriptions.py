"""SubscribeToShard's push loop: read what is there, sleep on the shard log's wake-up, repeat.

Each event carries the records read (possibly none: a heartbeat every few seconds, like AWS), the
sequence number to continue from, and at a closed shard's end the child shards, after which the
subscription ends. A subscription also ends after its lifetime (AWS: 5 minutes). Between events it
yields None about once a second: no event, but a point where the caller may stop (a subscriber that
disconnected frees its thread within a second, not at the next heartbeat).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from videolens.backends.datastreams.base import Position
from videolens.services.datastreams.catalog import ShardState, StreamState
from videolens.services.datastreams.errors import StreamNotFoundError
from videolens.services.datastreams.models import SubscriptionEvent
from videolens.services.datastreams.sequence import format_sequence

if TYPE_CHECKING:
    from videolens.services.datastreams.service import DataStreamsService

HEARTBEAT_S = 5.0
READ_LIMIT = 10000


def subscription(
    service: DataStreamsService, state: StreamState, shard: ShardState, start: Position, lifetime_s: float
) -> Iterator[SubscriptionEvent | None]:
    deadline = time.monotonic() + lifetime_s
    log = service.log
    last_event = 0.0
    while time.monotonic() < deadline:
        try:
            current = service.catalog.get(state.name)
        except StreamNotFoundError:
            return  # the stream was deleted: the subscription ends, like AWS closing it
        if current.key != state.key:
            return  # deleted and created again: not the stream this subscription follows
        if current.version != state.version:
            state = current
            shard = state.shard(shard.index) or shard
        records, nxt, at_end, behind = service.records.read(state, shard, start, READ_LIMIT)
        # the continuation is the last record's number; before any record, the one before `start`
        cont = records[-1].sequence_number if records else format_sequence(shard.index, _before(start))
        now = time.monotonic()
        if records or at_end or now - last_event >= HEARTBEAT_S or last_event == 0.0:
            children = service.records.children(state, shard) if at_end else None
            yield SubscriptionEvent(records, cont, behind, children)
            last_event = now
            if at_end:
                return
        start = nxt
        if not records:
            log.wait(state.key, shard.index, start, min(1.0, max(0.0, deadline - time.monotonic())))
            yield None


def _before(pos: Position) -> Position:
    if pos.seq > 0:
        return Position(pos.ms, pos.seq - 1)
    return Position(max(pos.ms - 1, 0), 0) if pos.ms > 0 else pos
