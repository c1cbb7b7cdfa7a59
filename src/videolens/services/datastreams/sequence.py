"""Sequence numbers and shard ids: AWS-shaped decimal strings over the backend's (ms, seq) positions.

A sequence number is 56 digits: `49` + shard index (14) + arrival ms (20) + per-shard seq (20).
Within a shard the leading fields are constant, so numeric order is position order; the shard index
inside lets AT_SEQUENCE_NUMBER reject a number from another shard, as Kinesis does.
"""

from __future__ import annotations

from videolens.backends.datastreams.base import Position
from videolens.services.datastreams.errors import InvalidArgumentError

_PREFIX = "49"
_LEN = 56


def format_sequence(shard: int, pos: Position) -> str:
    return f"{_PREFIX}{shard:014d}{pos.ms:020d}{pos.seq:020d}"


def parse_sequence(value: str) -> tuple[int, Position]:
    """(shard index, position) of a sequence number we issued; InvalidArgumentError otherwise."""
    if len(value) != _LEN or not value.isdigit() or not value.startswith(_PREFIX):
        raise InvalidArgumentError(
            f"StartingSequenceNumber {value} used in GetShardIterator on shard is not valid."
        )
    return int(value[2:16]), Position(int(value[16:36]), int(value[36:56]))


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def shard_index(value: str) -> int | None:
    """The index of `shardId-000000000003` (also accepts a bare `3`, like AWS); None if not one."""
    digits = value[8:] if value.startswith("shardId-") else value
    if not digits.isdigit() or len(digits) > 12:
        return None
    return int(digits)


#: the sequence number before every record of a shard (a shard's StartingSequenceNumber floor)
def starting_sequence(shard: int, pos: Position) -> str:
    return format_sequence(shard, pos)
