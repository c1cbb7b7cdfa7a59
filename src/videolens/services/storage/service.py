"""The storage capability: buckets, objects and multipart uploads; bytes stream through the blob store.

Object bytes are written to a fresh blob per version (`s3/<uuid>`) and the metadata row is switched
to it only once the blob is complete, so readers never see a half-written object; the old blob is
deleted afterwards. Multipart parts are blobs of their own, concatenated on completion.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from videolens.backends.blobs.base import BlobNotFoundError, BlobStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.storage import (
    BucketRow,
    MultipartPartRow,
    MultipartUploadRow,
    ObjectRow,
)
from videolens.runtime.settings import Settings
from videolens.services.errors import (
    AlreadyExistsError,
    InvalidObjectError,
    InvalidPaginationTokenError,
    InvalidParameterError,
    NotFoundError,
    VideolensError,
)
from videolens.services.pagination import decode_token, encode_token
from videolens.services.storage.errors import (
    BucketNotEmptyError,
    NoSuchBucketError,
    NoSuchKeyError,
    PreconditionFailedError,
)
from videolens.services.storage.models import Bucket, ObjectInfo, ObjectListing
from videolens.services.storage.multipart import COPY_CHUNK, DEFAULT_CONTENT_TYPE, MultipartUploads, now
from videolens.services.storage.names import check_bucket_name, check_key
from videolens.services.storage.ranges import parse_range

log = logging.getLogger(__name__)

#: the largest code point: `p + AFTER_EVERY_CHAR` sorts after the keys under prefix p (byte order)
AFTER_EVERY_CHAR = "\U0010ffff"

#: callback(bucket, key, size, etag) run after an object is created (jobs use it for bucket rules)
ObjectCreatedHook = Callable[[str, str, int, str], None]


def _info(row: ObjectRow) -> ObjectInfo:
    modified = row.last_modified if row.last_modified.tzinfo else row.last_modified.replace(tzinfo=UTC)
    return ObjectInfo(
        bucket=row.bucket,
        key=row.key,
        size=row.size,
        etag=row.etag,
        content_type=row.content_type,
        last_modified=modified,
        content_encoding=row.content_encoding,
        metadata=dict(row.user_metadata or {}),
        checksums=dict(row.checksums or {}),
    )


def _encode_marker(marker: str) -> str:
    return encode_token("objects", {"m": marker})


def _decode_marker(token: str) -> str:
    marker = decode_token("objects", token).get("m")
    if not isinstance(marker, str):
        raise InvalidPaginationTokenError("The continuation token provided is incorrect")
    return marker


class StorageService(MultipartUploads):
    """Buckets and objects (multipart uploads: `multipart.py`); bytes stream through the blob store."""

    def __init__(self, settings: Settings, db: Database, blobs: BlobStore) -> None:
        self.settings = settings
        self.db = db
        self.blobs = blobs
        self.on_object_created: list[ObjectCreatedHook] = []
        #: called with (bucket, key) after an object was deleted (e.g. its face sightings go with it)
        self.on_object_deleted: list[Callable[[str, str], None]] = []

    # ------------------------------------------------------------------ buckets
    def create_bucket(self, name: str) -> Bucket:
        check_bucket_name(name)
        try:
            with self.db.session() as s:
                if s.get(BucketRow, name) is not None:
                    raise AlreadyExistsError(f"bucket {name!r} already exists")
                row = BucketRow(name=name, created_at=now())
                s.add(row)
                return Bucket(name, row.created_at)
        except IntegrityError as exc:  # a concurrent create won the race
            raise AlreadyExistsError(f"bucket {name!r} already exists") from exc

    def head_bucket(self, name: str) -> Bucket:
        with self.db.session() as s:
            row = self._bucket(s, name)
            return Bucket(row.name, row.created_at)

    def list_buckets(self) -> list[Bucket]:
        with self.db.session() as s:
            rows = s.scalars(select(BucketRow).order_by(BucketRow.name)).all()
            return [Bucket(r.name, r.created_at) for r in rows]

    def delete_bucket(self, name: str) -> None:
        with self.db.session() as s:
            self._bucket(s, name)
            if s.scalar(select(func.count()).select_from(ObjectRow).where(ObjectRow.bucket == name)):
                raise BucketNotEmptyError(f"The bucket {name!r} you tried to delete is not empty")
            parts = s.scalars(
                select(MultipartPartRow.blob_key)
                .join(MultipartUploadRow, MultipartUploadRow.upload_id == MultipartPartRow.upload_id)
                .where(MultipartUploadRow.bucket == name)
            ).all()
            s.execute(delete(MultipartUploadRow).where(MultipartUploadRow.bucket == name))
            s.execute(delete(BucketRow).where(BucketRow.name == name))
        for blob in parts:
            self.blobs.delete(blob)

    def _bucket(self, s: Session, name: str) -> BucketRow:
        row = s.get(BucketRow, name)
        if row is None:
            raise NoSuchBucketError(f"The specified bucket does not exist: {name!r}")
        return row

    # ------------------------------------------------------------------ objects
    def put_object(
        self,
        bucket: str,
        key: str,
        chunks: Iterable[bytes],
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        content_encoding: str | None = None,
        checksums: Callable[[], dict[str, str]] | dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Stream `chunks` into a new object version; `checksums` may be a callable evaluated after
        the body was read (the wire layer only knows trailer checksums at the end)."""
        check_key(key)
        self.head_bucket(bucket)
        blob_key = f"s3/{uuid.uuid4().hex}"
        with self.blobs.writer(blob_key) as w:
            for chunk in chunks:
                w.write(chunk)
            blob = w.commit()
        sums = checksums() if callable(checksums) else dict(checksums or {})
        try:
            info = self._commit_object(
                bucket,
                key,
                blob_key,
                blob.size,
                f'"{blob.md5_hex}"',
                content_type,
                metadata,
                content_encoding,
                sums,
            )
        except BaseException:
            self.blobs.delete(blob_key)
            raise
        self._created(info)
        return info

    def put_object_bytes(
        self, bucket: str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo:
        return self.put_object(bucket, key, [data], content_type)

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
    ) -> ObjectInfo:
        old_blob: str | None = None
        with self.db.session() as s:
            self._bucket(s, bucket)
            row = s.get(ObjectRow, (bucket, key))
            if row is None:
                row = ObjectRow(bucket=bucket, key=key)
                s.add(row)
            else:
                old_blob = row.blob_key
            row.size = size
            row.etag = etag
            row.content_type = content_type or DEFAULT_CONTENT_TYPE
            row.content_encoding = content_encoding
            row.user_metadata = dict(metadata or {})
            row.checksums = checksums
            row.blob_key = blob_key
            row.last_modified = now()
            info = _info(row)
        if old_blob:
            self.blobs.delete(old_blob)
        return info

    def _created(self, info: ObjectInfo) -> None:
        for hook in list(self.on_object_created):
            try:
                hook(info.bucket, info.key, info.size, info.etag)
            except Exception:  # a failing subscriber must not fail the upload that already succeeded
                log.exception("object-created hook failed for %s/%s", info.bucket, info.key)

    def head_object(self, bucket: str, key: str, if_match: str | None = None) -> ObjectInfo:
        info, _ = self._locate(bucket, key, if_match)
        return info

    def open_object(
        self, bucket: str, key: str, start: int = 0, end: int | None = None, if_match: str | None = None
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        """Object info and an iterator over bytes [start, end) (whole object by default)."""
        info, blob_key = self._locate(bucket, key, if_match)
        stop = info.size if end is None else min(end, info.size)
        # opening now pins the bytes: an overwrite deletes the old blob, but an open file stays readable
        return info, _read_handle(self.blobs.open(blob_key), start, stop)

    def read_object(
        self, bucket: str, key: str, range_header: str | None = None, if_match: str | None = None
    ) -> tuple[ObjectInfo, tuple[int, int] | None, Iterator[bytes]]:
        """A GET of either front door: info, the [start, end) a `Range` header selects (None: the whole
        object) and those bytes, all of one version of the object (one lookup, no race with a PUT)."""
        info, blob_key = self._locate(bucket, key, if_match)
        byte_range = parse_range(range_header, info.size)
        start, stop = byte_range if byte_range else (0, info.size)
        return info, byte_range, _read_handle(self.blobs.open(blob_key), start, stop)

    def _locate(self, bucket: str, key: str, if_match: str | None) -> tuple[ObjectInfo, str]:
        with self.db.session() as s:
            self._bucket(s, bucket)
            row = s.get(ObjectRow, (bucket, key))
            if row is None:
                raise NoSuchKeyError(f"The specified key does not exist: {key!r}")
            info, blob_key = _info(row), row.blob_key
        if (
            if_match is not None
            and if_match.strip() not in ("*", info.etag)
            and f'"{if_match.strip()}"' != info.etag
        ):
            raise PreconditionFailedError("At least one of the pre-conditions you specified did not hold")
        return info, blob_key

    def delete_object(self, bucket: str, key: str) -> None:
        with self.db.session() as s:
            self._bucket(s, bucket)
            row = s.get(ObjectRow, (bucket, key))
            if row is None:
                return  # S3 deletes are idempotent
            blob_key = row.blob_key
            s.delete(row)
        self.blobs.delete(blob_key)
        for hook in list(self.on_object_deleted):
            try:
                hook(bucket, key)
            except Exception:  # the object is gone; a failing subscriber is logged, not raised
                log.exception("object-deleted hook failed for %s/%s", bucket, key)

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: int = 1000,
        continuation_token: str | None = None,
        start_after: str | None = None,
    ) -> ObjectListing:
        marker = _decode_marker(continuation_token) if continuation_token else (start_after or "")
        max_keys = max(0, min(max_keys, 1000))
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last = marker
        truncated = False
        # a token that ends on a common prefix resumes after every key under that prefix
        skip = marker if delimiter and marker.endswith(delimiter) and marker.startswith(prefix) else None
        cursor = marker
        with self.db.session() as s:
            self._bucket(s, bucket)
            done = False
            while not done:
                q = select(ObjectRow).where(ObjectRow.bucket == bucket, ObjectRow.key > cursor)
                if prefix:
                    q = q.where(ObjectRow.key >= prefix)
                rows = s.scalars(q.order_by(ObjectRow.key).limit(500)).all()
                if not rows:
                    break
                for row in rows:
                    cursor = row.key
                    if not row.key.startswith(prefix):
                        done = True  # keys under a prefix are contiguous in byte order
                        break
                    if skip and row.key.startswith(skip):
                        continue
                    rest = row.key[len(prefix) :]
                    common = None
                    if delimiter and delimiter in rest:
                        common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
                    if len(objects) + len(prefixes) >= max_keys:
                        truncated = done = True
                        break
                    if common is not None:
                        prefixes.append(common)
                        skip = last = common
                    else:
                        objects.append(_info(row))
                        last = row.key
                else:
                    if skip and cursor.startswith(skip):
                        # a whole batch fell under one common prefix: jump past the rest of it instead
                        # of reading every key of a large "folder" 500 at a time
                        cursor = skip + AFTER_EVERY_CHAR
        return ObjectListing(objects, prefixes, truncated, _encode_marker(last) if truncated else None)

    # ------------------------------------------------------------------ helpers for other services
    def get_object_bytes(
        self, bucket: str, key: str, max_bytes: int, too_large: type[VideolensError] = InvalidObjectError
    ) -> bytes:
        """The whole object in memory, for small inputs (images); a missing object is InvalidObjectError,
        one over `max_bytes` raises `too_large` (Rekognition answers ImageTooLargeException there)."""
        try:
            info, blob_key = self._locate(bucket, key, None)
        except (NotFoundError, InvalidParameterError) as exc:
            raise InvalidObjectError(
                "Unable to get object metadata from S3. Check object key, region and/or access "
                f"permissions: {exc.message}"
            ) from exc
        if info.size > max_bytes:
            raise too_large(f"S3 object {bucket}/{key} is {info.size} bytes; the limit is {max_bytes} bytes")
        return b"".join(_read_handle(self.blobs.open(blob_key), 0, info.size))

    @contextmanager
    def open_object_path(self, bucket: str, key: str) -> Iterator[Path]:
        """A local file path holding the object (the blob itself when the store has files, else a
        temporary copy removed on exit) — for PyAV and ffmpeg, which want to seek."""
        try:
            with self.db.session() as s:
                self._bucket(s, bucket)
                row = s.get(ObjectRow, (bucket, key))
                if row is None:
                    raise NoSuchKeyError(f"The specified key does not exist: {key!r}")
                blob_key = row.blob_key
        except (NotFoundError, InvalidParameterError) as exc:
            raise InvalidObjectError(f"Unable to get object {bucket}/{key}") from exc
        local = self.blobs.local_path(blob_key)
        if local is not None and local.is_file():
            yield local
            return
        suffix = Path(key).suffix
        with tempfile.NamedTemporaryFile(suffix=suffix, dir=self.settings.data_dir) as tmp:
            try:
                with self.blobs.open(blob_key) as src:
                    shutil.copyfileobj(src, tmp, COPY_CHUNK)
            except BlobNotFoundError as exc:
                raise InvalidObjectError(f"Unable to get object {bucket}/{key}") from exc
            tmp.flush()
            yield Path(tmp.name)


def _read_handle(handle: object, start: int, stop: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    f = handle
    try:
        f.seek(start)  # type: ignore[attr-defined]
        left = stop - start
        while left > 0:
            data = f.read(min(chunk, left))  # type: ignore[attr-defined]
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        f.close()  # type: ignore[attr-defined]
