"""Tables of the storage capability: buckets, objects (metadata rows; bytes live in the blob store),
multipart uploads and their parts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base

#: S3 lists keys in UTF-8 byte order; PostgreSQL must not use a locale collation for them
KEY_TYPE = String(1024).with_variant(String(1024, collation="C"), "postgresql")


class BucketRow(Base):
    __tablename__ = "buckets"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ObjectRow(Base):
    __tablename__ = "objects"

    bucket: Mapped[str] = mapped_column(
        String(63), ForeignKey("buckets.name", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(KEY_TYPE, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(80))  # quoted, as S3 returns it
    content_type: Mapped[str] = mapped_column(String(255))
    content_encoding: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_metadata: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    checksums: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    blob_key: Mapped[str] = mapped_column(String(255))
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MultipartUploadRow(Base):
    __tablename__ = "multipart_uploads"

    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(63), ForeignKey("buckets.name", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str] = mapped_column(String(255))
    user_metadata: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MultipartPartRow(Base):
    __tablename__ = "multipart_parts"

    upload_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("multipart_uploads.upload_id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(80))
    blob_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
