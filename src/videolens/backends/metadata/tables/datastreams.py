"""Tables of the data streams capability: streams, shards, consumers (records live in the shard log)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class DataStreamRow(Base):
    __tablename__ = "datastreams"

    #: StreamId ([a-z0-9]{20}-[a-z0-9]{3}), also the shard log's stream key: never reused
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    arn: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    retention_hours: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    encryption_type: Mapped[str] = mapped_column(String(8), default="NONE")
    key_id: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    max_record_kib: Mapped[int] = mapped_column(Integer, default=1024)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    enhanced_metrics: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: the index the next new shard gets (shard ids are never reused within a stream)
    next_shard: Mapped[int] = mapped_column(Integer, default=0)
    #: bumped by every reshard: processes caching the shard map reload when it moved
    version: Mapped[int] = mapped_column(Integer, default=0)


class DataStreamShardRow(Base):
    __tablename__ = "datastream_shards"

    stream_id: Mapped[str] = mapped_column(
        String(24), ForeignKey("datastreams.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    parent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    adjacent_parent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: hash keys are 128-bit: kept as decimal strings
    start_hash: Mapped[str] = mapped_column(String(40))
    end_hash: Mapped[str] = mapped_column(String(40))
    created_ms: Mapped[int] = mapped_column(BigInteger)  # no record of the shard arrives before it
    #: sealed: the last position (ms, seq) written, or -1/-1 when it never held a record
    closed_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DataStreamConsumerRow(Base):
    __tablename__ = "datastream_consumers"

    arn: Mapped[str] = mapped_column(String(2048), primary_key=True)
    stream_id: Mapped[str] = mapped_column(String(24), ForeignKey("datastreams.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)


Index(
    "ix_datastream_consumers_stream_name",
    DataStreamConsumerRow.stream_id,
    DataStreamConsumerRow.name,
    unique=True,
)


class DataStreamSecretRow(Base):
    """The key that signs shard iterators, shared by every process on this metadata store."""

    __tablename__ = "datastream_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
