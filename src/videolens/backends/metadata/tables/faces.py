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
    #: bumped (under the row's write lock, in the transaction of the change) on every face insert or
    #: delete, so vector caches in any node can tell they are stale and read only the newer changes
    version: Mapped[int] = mapped_column(Integer, default=0)
    #: tombstones at or below this version may have been pruned: a cache that old must load in full
    tombstones_from: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


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
    #: the collection version that added this face (0: added before versions were recorded per face)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_faces_collection_seq", "collection_id", "seq", unique=True),
        Index("ix_faces_collection_version", "collection_id", "version"),
    )


class FaceTombstoneRow(Base):
    """One deleted face: vector caches that saw an older version remove it without a full reload."""

    __tablename__ = "face_tombstones"

    collection_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("collections.collection_id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)  # the collection version of the delete
    face_id: Mapped[str] = mapped_column(String(36), primary_key=True)
