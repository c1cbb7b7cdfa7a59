"""Table of the sightings capability: one row per face track seen in a stream or a stored video."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class SightingRow(Base):
    __tablename__ = "face_sightings"
    __table_args__ = (Index("ix_face_sightings_source", "source_kind", "source"),)

    sighting_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: "stream" (source: the KVS stream ARN) or "video" (source: s3://bucket/key)
    source_kind: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(1100))
    #: absolute epoch seconds for streams (producer time); seconds into the video for stored videos
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    fragments: Mapped[list[Any]] = mapped_column(JSON)
    #: up to MAX_DESCRIPTORS float32 descriptors (128 each), concatenated
    descriptors: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    quality: Mapped[float] = mapped_column(Float)
    #: when this sighting goes (the stream's retention; a stored video's: see docs/sightings.md)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
