"""Tables of the faces capability: collections and their indexed faces (with embeddings)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class CollectionRow(Base):
    __tablename__ = "collections"

    collection_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    face_model_version: Mapped[str] = mapped_column(String(32))
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: bumped on every face insert/delete so vector caches in any worker can tell they are stale
    version: Mapped[int] = mapped_column(Integer, default=0)


class FaceRow(Base):
    __tablename__ = "faces"

    face_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("collections.collection_id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)  # insertion order inside the collection, for stable paging
    image_id: Mapped[str] = mapped_column(String(36))
    external_image_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    box_left: Mapped[float] = mapped_column(Float)
    box_top: Mapped[float] = mapped_column(Float)
    box_width: Mapped[float] = mapped_column(Float)
    box_height: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # 128 little-endian float32
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_faces_collection_seq", "collection_id", "seq", unique=True),)
