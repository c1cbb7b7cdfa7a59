"""Tables of the streams capability: video streams, their time-indexed fragments and attached pull sources."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class VideoStreamRow(Base):
    __tablename__ = "video_streams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    arn: Mapped[str] = mapped_column(String(1024), unique=True)
    device_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    media_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    kms_key_id: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    retention_hours: Mapped[int] = mapped_column(Integer, default=0)
    storage_tier: Mapped[str] = mapped_column(String(8), default="HOT")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    #: opaque token changed by every update (UpdateStream's CurrentVersion check)
    version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: fragments ever stored; the next fragment's per-stream sequence (HLS media sequence)
    fragment_count: Mapped[int] = mapped_column(BigInteger, default=0)


class VideoFragmentRow(Base):
    __tablename__ = "video_fragments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream_id: Mapped[int] = mapped_column(Integer, ForeignKey("video_streams.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    fragment_number: Mapped[str] = mapped_column(String(128), unique=True)
    producer_ts: Mapped[float] = mapped_column(Float)  # epoch seconds of the first key frame
    server_ts: Mapped[float] = mapped_column(Float)  # epoch seconds when it was received whole
    duration_ms: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(512))
    #: where the Cluster starts in the blob; GetMedia splices its tags in there
    cluster_offset: Mapped[int] = mapped_column(Integer)
    #: the ingest session (PutMedia connection / pull connection) it came from
    session_id: Mapped[str] = mapped_column(String(36))
    #: retention 0: kept only as a short live buffer
    buffer_only: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)


Index("ix_video_fragments_stream_seq", VideoFragmentRow.stream_id, VideoFragmentRow.seq, unique=True)
Index("ix_video_fragments_stream_producer", VideoFragmentRow.stream_id, VideoFragmentRow.producer_ts)
Index("ix_video_fragments_stream_server", VideoFragmentRow.stream_id, VideoFragmentRow.server_ts)


class StreamPullSourceRow(Base):
    """A camera URL attached to a stream; one process at a time pulls it, under a lease."""

    __tablename__ = "stream_pull_sources"

    stream_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("video_streams.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    url: Mapped[str] = mapped_column(String(2048))
    listen: Mapped[bool] = mapped_column(Boolean, default=False)
    #: PullSource keyword options (back-off bounds)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    #: the process pulling it now (None: free); the token fences a holder that was taken over
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_token: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # epoch seconds


Index("ix_stream_pull_sources_lease", StreamPullSourceRow.lease_expires_at)
