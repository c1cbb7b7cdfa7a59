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

from videolens.consumer.checkpoints import SHARD_END, Checkpoints, FileCheckpoints, MemoryCheckpoints
from videolens.consumer.reader import StreamConsumer, start_kind
from videolens.consumer.records import Batch, ExpiredIterator, Page, Record, ShardRef, Throttled
from videolens.consumer.sources import KinesisSource, ServiceSource, ShardSource

__all__ = [
    "SHARD_END",
    "Batch",
    "Checkpoints",
    "ExpiredIterator",
    "FileCheckpoints",
    "KinesisSource",
    "MemoryCheckpoints",
    "Page",
    "Record",
    "ServiceSource",
    "ShardRef",
    "ShardSource",
    "StreamConsumer",
    "Throttled",
    "start_kind",
]
