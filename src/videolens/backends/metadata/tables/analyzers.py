"""Tables of the analyzers capability: analyzer definitions and one row per (analyzer, stream) unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class AnalyzerRow(Base):
    __tablename__ = "analyzers"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the whole definition as validated (model, streams, tag_filters, sampling, output, limits)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: RUNNING while a start is in force, STOPPED otherwise
    desired: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AnalyzerStreamRow(Base):
    """One unit of work of the live engine: an analyzer on one video stream, under its own lease."""

    __tablename__ = "analyzer_streams"

    analyzer: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(256), primary_key=True)
    stream_arn: Mapped[str] = mapped_column(String(1024))
    #: STOPPED | STARTING | RUNNING | STOPPING | FAILED
    status: Mapped[str] = mapped_column(String(16))
    status_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    desired: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    start_after: Mapped[str | None] = mapped_column(String(128), nullable=True)
    fragments_done: Mapped[int] = mapped_column(BigInteger, default=0)
    fragments_skipped: Mapped[int] = mapped_column(BigInteger, default=0)
    records_out: Mapped[int] = mapped_column(BigInteger, default=0)
    lag_fragments: Mapped[int] = mapped_column(BigInteger, default=0)
    frames_analysed: Mapped[int] = mapped_column(BigInteger, default=0)
    frames_skipped: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lag_ms: Mapped[float] = mapped_column(Float, default=0.0)
    last_fragment: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
