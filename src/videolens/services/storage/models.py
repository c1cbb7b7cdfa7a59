"""Result types of the storage capability (front-door neutral)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Bucket:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # quoted: "d41d8cd98f00b204e9800998ecf8427e" or "<md5 of md5s>-N"
    content_type: str
    last_modified: datetime
    content_encoding: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectListing:
    objects: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_token: str | None


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    size: int
    etag: str


@dataclass(frozen=True)
class MultipartUpload:
    upload_id: str
    bucket: str
    key: str
