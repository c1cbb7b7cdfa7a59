"""Multipart uploads of the storage capability: parts are blobs of their own, concatenated on completion."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from videolens.backends.blobs.base import BlobStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.storage import BucketRow, MultipartPartRow, MultipartUploadRow
from videolens.services.errors import InvalidParameterError
from videolens.services.storage.errors import (
    EntityTooSmallError,
    InvalidPartError,
    InvalidPartOrderError,
    NoSuchUploadError,
)
from videolens.services.storage.models import MultipartUpload, ObjectInfo, PartInfo
from videolens.services.storage.names import check_key

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10000
COPY_CHUNK = 8 * 1024 * 1024
DEFAULT_CONTENT_TYPE = "binary/octet-stream"


def now() -> datetime:
    return datetime.now(UTC)


class MultipartUploads:
    """The multipart half of `StorageService` (a mixin: it shares the service's store and helpers)."""

    db: Database
    blobs: BlobStore

    if TYPE_CHECKING:  # provided by StorageService

        def _bucket(self, s: Session, name: str) -> BucketRow: ...

        def _commit_object(
            self,
            bucket: str,
            key: str,
            blob_key: str,
            size: int,
            etag: str,
            content_type: str | None,
            metadata: dict[str, str] | None,
            content_encoding: str | None,
            checksums: dict[str, str],
        ) -> ObjectInfo: ...

        def _created(self, info: ObjectInfo) -> None: ...

    # ------------------------------------------------------------------ multipart
    def create_multipart_upload(
        self, bucket: str, key: str, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> MultipartUpload:
        check_key(key)
        upload_id = uuid.uuid4().hex
        with self.db.session() as s:
            self._bucket(s, bucket)
            s.add(
                MultipartUploadRow(
                    upload_id=upload_id,
                    bucket=bucket,
                    key=key,
                    content_type=content_type or DEFAULT_CONTENT_TYPE,
                    user_metadata=dict(metadata or {}),
                    created_at=now(),
                )
            )
        return MultipartUpload(upload_id, bucket, key)

    def _upload(self, s: Session, bucket: str, key: str, upload_id: str) -> MultipartUploadRow:
        self._bucket(s, bucket)
        row = s.get(MultipartUploadRow, upload_id)
        if row is None or row.bucket != bucket or row.key != key:
            raise NoSuchUploadError(
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
                "been aborted or completed."
            )
        return row

    def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise InvalidParameterError("Part number must be an integer between 1 and 10000, inclusive")
        with self.db.session() as s:
            self._upload(s, bucket, key, upload_id)
        blob_key = f"s3-parts/{upload_id}/{part_number}-{uuid.uuid4().hex[:8]}"
        with self.blobs.writer(blob_key) as w:
            for chunk in chunks:
                w.write(chunk)
            blob = w.commit()
        old: str | None = None
        try:
            with self.db.session() as s:
                self._upload(s, bucket, key, upload_id)
                row = s.get(MultipartPartRow, (upload_id, part_number))
                if row is None:
                    row = MultipartPartRow(upload_id=upload_id, part_number=part_number)
                    s.add(row)
                else:
                    old = row.blob_key
                row.size = blob.size
                row.etag = f'"{blob.md5_hex}"'
                row.blob_key = blob_key
                row.created_at = now()
        except BaseException:
            self.blobs.delete(blob_key)
            raise
        if old:
            self.blobs.delete(old)
        return PartInfo(part_number, blob.size, f'"{blob.md5_hex}"')

    def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> ObjectInfo:
        """Concatenate the listed parts (ascending part numbers, matching ETags) into the object."""
        if not parts:
            raise InvalidPartError("You must specify at least one part")
        numbers = [n for n, _ in parts]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise InvalidPartOrderError("The list of parts was not in ascending order")
        with self.db.session() as s:
            upload = self._upload(s, bucket, key, upload_id)
            stored = {
                p.part_number: p
                for p in s.scalars(
                    select(MultipartPartRow).where(MultipartPartRow.upload_id == upload_id)
                ).all()
            }
            content_type, metadata = upload.content_type, dict(upload.user_metadata or {})
            chosen: list[MultipartPartRow] = []
            for i, (number, etag) in enumerate(parts):
                part = stored.get(number)
                if part is None or part.etag.strip('"') != etag.strip().strip('"'):
                    raise InvalidPartError(
                        f"One or more of the specified parts could not be found (part {number})"
                    )
                if i < len(parts) - 1 and part.size < MIN_PART_SIZE:
                    raise EntityTooSmallError("Your proposed upload is smaller than the minimum allowed size")
                chosen.append(part)
        blob_key = f"s3/{uuid.uuid4().hex}"
        md5s = b""
        with self.blobs.writer(blob_key) as w:
            for part in chosen:
                md5s += bytes.fromhex(part.etag.strip('"'))
                with self.blobs.open(part.blob_key) as f:
                    while chunk := f.read(COPY_CHUNK):
                        w.write(chunk)
            blob = w.commit()
        etag = f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(chosen)}"'
        try:
            info = self._commit_object(
                bucket, key, blob_key, blob.size, etag, content_type, metadata, None, {}
            )
        except BaseException:
            self.blobs.delete(blob_key)
            raise
        self._drop_upload(upload_id)
        self._created(info)
        return info

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self.db.session() as s:
            self._upload(s, bucket, key, upload_id)
        self._drop_upload(upload_id)

    def _drop_upload(self, upload_id: str) -> None:
        with self.db.session() as s:
            blobs = s.scalars(
                select(MultipartPartRow.blob_key).where(MultipartPartRow.upload_id == upload_id)
            ).all()
            s.execute(delete(MultipartPartRow).where(MultipartPartRow.upload_id == upload_id))
            s.execute(delete(MultipartUploadRow).where(MultipartUploadRow.upload_id == upload_id))
        for blob in blobs:
            self.blobs.delete(blob)
