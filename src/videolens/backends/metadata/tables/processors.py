"""Table of the live capability: one row per stream processor (its definition and its status)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class StreamProcessorRow(Base):
    __tablename__ = "stream_processors"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    input_arn: Mapped[str] = mapped_column(String(1024))
    #: the definition as given (Input, Output, Settings, RoleArn, RegionsOfInterest, ...)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: STOPPED | STARTING | RUNNING | STOPPING | FAILED | UPDATING
    status: Mapped[str] = mapped_column(String(16))
    status_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: RUNNING while a start is in force (workers run it), STOPPED otherwise
    desired: Mapped[str] = mapped_column(String(16))
    #: catch-up (every fragment) | live (jump to the newest, count the skipped ones)
    lag_policy: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: the fragment after which this session starts (None: the stream's first fragment)
    start_after: Mapped[str | None] = mapped_column(String(128), nullable=True)
    fragments_done: Mapped[int] = mapped_column(BigInteger, default=0)
    fragments_skipped: Mapped[int] = mapped_column(BigInteger, default=0)
    records_out: Mapped[int] = mapped_column(BigInteger, default=0)
    lag_fragments: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
