"""Stream CRUD: create, describe, list, update, retention, tags, delete (with its fragments)."""

from __future__ import annotations

import builtins
import contextlib
import time
import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from videolens.backends.blobs.base import BlobNotFoundError, BlobStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.streams import VideoFragmentRow, VideoStreamRow
from videolens.services.errors import AlreadyExistsError, InvalidParameterError, NotFoundError
from videolens.services.pagination import decode_token, encode_token
from videolens.services.streams import identifiers
from videolens.services.streams.errors import VersionMismatchError
from videolens.services.streams.models import StreamInfo

MAX_TAGS = 50


def to_info(row: VideoStreamRow) -> StreamInfo:
    return StreamInfo(
        name=row.name,
        arn=row.arn,
        device_name=row.device_name,
        media_type=row.media_type,
        kms_key_id=row.kms_key_id,
        retention_hours=row.retention_hours,
        status=row.status,
        version=row.version,
        created_at=row.created_at,
        tags=dict(row.tags or {}),
        storage_tier=row.storage_tier,
    )


def _new_version() -> str:
    return uuid.uuid4().hex[:20]


#: KVS's upper bound on a stream's retention (ten years)
MAX_RETENTION_HOURS = 87600


class StreamCatalog:
    """Streams in the metadata database; every method takes a name or ARN (exactly one)."""

    def __init__(self, db: Database, blobs: BlobStore, region: str, account_id: str) -> None:
        self.db = db
        self.blobs = blobs
        self.region = region
        self.account_id = account_id

    # -- lookups ------------------------------------------------------------------------------------

    @staticmethod
    def resolve_name(name: str | None, arn: str | None) -> str:
        if (name is None) == (arn is None):
            raise InvalidParameterError("give exactly one of StreamName and StreamARN")
        if arn is not None:
            return identifiers.name_from_arn(arn)
        assert name is not None
        if not identifiers.NAME_RE.match(name):
            raise InvalidParameterError(f"invalid stream name: {name!r}")
        return name

    def row_id(self, name: str | None = None, arn: str | None = None) -> tuple[int, StreamInfo]:
        wanted = self.resolve_name(name, arn)
        with self.db.session() as s:
            row = s.scalar(select(VideoStreamRow).where(VideoStreamRow.name == wanted))
            if row is None or (arn is not None and row.arn != arn):
                raise NotFoundError(f"stream {arn or wanted} not found")
            return row.id, to_info(row)

    def get(self, name: str | None = None, arn: str | None = None) -> StreamInfo:
        return self.row_id(name, arn)[1]

    # -- writes -------------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        retention_hours: int = 0,
        device_name: str | None = None,
        media_type: str | None = None,
        kms_key_id: str | None = None,
        tags: dict[str, str] | None = None,
        storage_tier: str = "HOT",
    ) -> StreamInfo:
        if not identifiers.NAME_RE.match(name):
            raise InvalidParameterError(f"invalid stream name: {name!r}")
        if not 0 <= retention_hours <= MAX_RETENTION_HOURS:
            raise InvalidParameterError(f"DataRetentionInHours must be between 0 and {MAX_RETENTION_HOURS}")
        if tags is not None and len(tags) > MAX_TAGS:
            raise InvalidParameterError(f"at most {MAX_TAGS} tags")
        now = time.time()
        row = VideoStreamRow(
            name=name,
            arn=identifiers.stream_arn(self.region, self.account_id, name, int(now * 1000)),
            device_name=device_name,
            media_type=media_type,
            kms_key_id=kms_key_id,
            retention_hours=retention_hours,
            storage_tier=storage_tier,
            status="ACTIVE",
            version=_new_version(),
            created_at=now,
            tags=dict(tags or {}),
            fragment_count=0,
        )
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError as exc:
            raise AlreadyExistsError(f"stream {name} already exists") from exc
        return to_info(row)

    def list(
        self, *, prefix: str | None = None, max_results: int = 10000, after_id: int = 0
    ) -> tuple[builtins.list[StreamInfo], int | None]:
        with self.db.session() as s:
            query = select(VideoStreamRow).where(VideoStreamRow.id > after_id).order_by(VideoStreamRow.id)
            if prefix:
                query = query.where(VideoStreamRow.name.startswith(prefix, autoescape=True))
            rows = list(s.scalars(query.limit(max_results + 1)))
        more = len(rows) > max_results
        rows = rows[:max_results]
        return [to_info(r) for r in rows], (rows[-1].id if more and rows else None)

    def list_page(
        self, *, prefix: str | None = None, max_results: int = 10000, next_token: str | None = None
    ) -> tuple[builtins.list[StreamInfo], str | None]:
        """One page of streams for a front door: opaque NextToken in and out (ListStreams)."""
        if not 1 <= max_results <= 10000:
            raise InvalidParameterError("MaxResults must be between 1 and 10000")
        after = int(decode_token("streams", next_token)["after"]) if next_token else 0
        streams, more = self.list(prefix=prefix, max_results=max_results, after_id=after)
        return streams, (encode_token("streams", {"after": more}) if more is not None else None)

    def _update(
        self, name: str | None, arn: str | None, current_version: str | None, **changes: object
    ) -> StreamInfo:
        wanted = self.resolve_name(name, arn)
        with self.db.session() as s:
            row = s.scalar(select(VideoStreamRow).where(VideoStreamRow.name == wanted).with_for_update())
            if row is None or (arn is not None and row.arn != arn):
                raise NotFoundError(f"stream {arn or wanted} not found")
            if current_version is not None and row.version != current_version:
                raise VersionMismatchError(f"stream {wanted} is at another version than {current_version}")
            for key, value in changes.items():
                setattr(row, key, value)
            row.version = _new_version()
            return to_info(row)

    def update(
        self,
        *,
        name: str | None = None,
        arn: str | None = None,
        current_version: str,
        device_name: str | None = None,
        media_type: str | None = None,
    ) -> StreamInfo:
        changes: dict[str, object] = {}
        if device_name is not None:
            changes["device_name"] = device_name
        if media_type is not None:
            changes["media_type"] = media_type
        return self._update(name, arn, current_version, **changes)

    def change_retention(
        self,
        *,
        name: str | None = None,
        arn: str | None = None,
        current_version: str,
        operation: Literal["INCREASE_DATA_RETENTION", "DECREASE_DATA_RETENTION"],
        hours: int,
    ) -> StreamInfo:
        if hours < 1:
            raise InvalidParameterError("DataRetentionChangeInHours must be >= 1")
        current = self.get(name, arn)
        sign = 1 if operation == "INCREASE_DATA_RETENTION" else -1
        new = current.retention_hours + sign * hours
        if new < 0:
            raise InvalidParameterError("retention cannot go below zero")
        if new > MAX_RETENTION_HOURS:
            raise InvalidParameterError(f"retention cannot exceed {MAX_RETENTION_HOURS} hours (ten years)")
        return self._update(name, arn, current_version, retention_hours=new)

    def tag(self, tags: dict[str, str], *, name: str | None = None, arn: str | None = None) -> None:
        current = self.get(name, arn)
        merged = {**current.tags, **tags}
        if len(merged) > MAX_TAGS:
            raise InvalidParameterError(f"a stream carries at most {MAX_TAGS} tags")
        self._update(name, arn, None, tags=merged)

    def untag(self, keys: builtins.list[str], *, name: str | None = None, arn: str | None = None) -> None:
        current = self.get(name, arn)
        self._update(name, arn, None, tags={k: v for k, v in current.tags.items() if k not in set(keys)})

    def delete(self, arn: str, current_version: str | None = None) -> None:
        stream_id, info = self.row_id(arn=arn)
        if current_version is not None and info.version != current_version:
            raise VersionMismatchError(f"stream {info.name} is at another version than {current_version}")
        with self.db.session() as s:
            keys = list(
                s.scalars(select(VideoFragmentRow.blob_key).where(VideoFragmentRow.stream_id == stream_id))
            )
            s.query(VideoFragmentRow).filter(VideoFragmentRow.stream_id == stream_id).delete()
            s.query(VideoStreamRow).filter(VideoStreamRow.id == stream_id).delete()
        for key in keys:
            with contextlib.suppress(BlobNotFoundError):
                self.blobs.delete(key)
