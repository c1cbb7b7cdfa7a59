"""Blob store on an S3-compatible object store (AWS S3, SeaweedFS, MinIO...): multipart, ranges, retries.

Nothing is held whole in memory: writes go out as multipart parts of `part_bytes`, reads are ranged GETs
streamed in chunks (a broken body resumes at the byte it stopped at), and `open` gives a seekable reader
that fetches windows on demand. botocore's "standard" retry mode retries throttling, 5xx and connection
errors with exponential back-off and jitter.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from videolens.backends.blobs.base import BlobInfo, BlobNotFoundError, validate_key

log = logging.getLogger(__name__)

#: S3's smallest part (except the last) is 5 MiB; 8 MiB keeps part counts low for long recordings
DEFAULT_PART_BYTES = 8 * 1024 * 1024
READ_CHUNK = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


class BlobStoreUnavailableError(OSError):
    """The object store did not answer (after retries): callers fail the request, nothing is lost."""


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix/") (prefix "" when absent)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    prefix = prefix.strip("/")
    return bucket, (prefix + "/") if prefix else ""


class S3BlobWriter:
    """Buffers up to one part; a blob under one part is a single PUT, a larger one a multipart upload."""

    def __init__(self, store: S3BlobStore, key: str) -> None:
        self._store = store
        self._key = key
        self._buf = bytearray()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.done = False

    def write(self, data: bytes) -> None:
        self._md5.update(data)
        self._size += len(data)
        self._buf += data
        while len(self._buf) >= self._store.part_bytes:
            part = bytes(memoryview(self._buf)[: self._store.part_bytes])
            del self._buf[: self._store.part_bytes]
            self._upload_part(part)

    @property
    def size(self) -> int:
        return self._size

    def _upload_part(self, part: bytes) -> None:
        s = self._store
        if self._upload_id is None:
            out = s.call("create_multipart_upload", Bucket=s.bucket, Key=s.full(self._key))
            self._upload_id = str(out["UploadId"])
        number = len(self._parts) + 1
        out = s.call(
            "upload_part",
            Bucket=s.bucket,
            Key=s.full(self._key),
            UploadId=self._upload_id,
            PartNumber=number,
            Body=part,
        )
        self._parts.append({"PartNumber": number, "ETag": out["ETag"]})

    def commit(self) -> BlobInfo:
        s = self._store
        try:
            if self._upload_id is None:
                s.call("put_object", Bucket=s.bucket, Key=s.full(self._key), Body=bytes(self._buf))
            else:
                if self._buf:
                    self._upload_part(bytes(self._buf))
                s.call(
                    "complete_multipart_upload",
                    Bucket=s.bucket,
                    Key=s.full(self._key),
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except BaseException:
            self.abort()
            raise
        self._buf = bytearray()
        self.done = True
        return BlobInfo(self._key, self._size, self._md5.hexdigest())

    def abort(self) -> None:
        self.done = True
        self._buf = bytearray()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            try:
                self._store.call(
                    "abort_multipart_upload",
                    Bucket=self._store.bucket,
                    Key=self._store.full(self._key),
                    UploadId=upload_id,
                )
            except (BlobStoreUnavailableError, ClientError):
                # the store's lifecycle rule for incomplete uploads reclaims it; the blob never appeared
                log.warning("could not abort multipart upload of %s", self._key)


class S3RangeReader(io.RawIOBase):
    """A seekable raw reader over one object: each read is a ranged GET (buffered by the caller)."""

    def __init__(self, store: S3BlobStore, key: str, size: int) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        got = 0
        view = memoryview(buffer).cast("B")
        for chunk in self._store.read_range(self._key, self._pos, self._pos + want):
            view[got : got + len(chunk)] = chunk
            got += len(chunk)
        self._pos += got
        return got


class S3BlobStore:
    """Blobs as objects `prefix + key` in one bucket (created when missing)."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        part_bytes: int = DEFAULT_PART_BYTES,
        max_attempts: int = 4,
        timeout_s: float = 10.0,
        create_bucket: bool = True,
    ) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        if part_bytes < 5 * 1024 * 1024:
            raise ValueError("S3 parts are at least 5 MiB")
        self.part_bytes = part_bytes
        self.max_attempts = max_attempts
        config = Config(
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            s3={"addressing_style": "path"},
            max_pool_connections=64,
        )
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1", config=config
        )
        if create_bucket:
            self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        try:
            self.call("head_bucket", Bucket=self.bucket)
        except ClientError as exc:
            if not _missing(exc):
                raise
            self.call("create_bucket", Bucket=self.bucket)

    def call(self, op: str, **kwargs: Any) -> Any:
        """One S3 operation (botocore retries inside); an unreachable store is BlobStoreUnavailableError."""
        try:
            return getattr(self.client, op)(**kwargs)
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if status >= 500:
                raise BlobStoreUnavailableError(f"object store error on {op}: {exc}") from exc
            raise
        except BotoCoreError as exc:
            raise BlobStoreUnavailableError(f"object store unreachable on {op}: {exc}") from exc

    def full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    @contextmanager
    def writer(self, key: str) -> Iterator[S3BlobWriter]:
        w = S3BlobWriter(self, validate_key(key))
        try:
            yield w
        except BaseException:
            w.abort()
            raise
        if not w.done:
            w.commit()

    def put_bytes(self, key: str, data: bytes) -> BlobInfo:
        with self.writer(key) as w:
            w.write(data)
            return w.commit()

    def open(self, key: str) -> BinaryIO:
        raw = S3RangeReader(self, key, self.size(key))
        return io.BufferedReader(raw, buffer_size=READ_CHUNK)

    def read_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        pos = start
        attempt = 0
        while pos < end:
            try:
                out = self.call(
                    "get_object", Bucket=self.bucket, Key=self.full(key), Range=f"bytes={pos}-{end - 1}"
                )
            except ClientError as exc:
                if _missing(exc):
                    raise BlobNotFoundError(key) from exc
                if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                    return
                raise
            body = out["Body"]
            try:
                for chunk in body.iter_chunks(READ_CHUNK):
                    if not chunk:
                        continue
                    chunk = chunk[: end - pos]
                    pos += len(chunk)
                    yield chunk
                    if pos >= end:
                        break
                else:
                    if pos < end:  # the object is shorter than asked: like a file, stop at its end
                        return
            except (BotoCoreError, OSError) as exc:
                # a body cut mid-way resumes at the byte it stopped at, with back-off
                attempt += 1
                if attempt >= self.max_attempts:
                    raise BlobStoreUnavailableError(f"reading {key} failed: {exc}") from exc
                time.sleep(min(2.0, 0.1 * 2**attempt))
            finally:
                body.close()

    def size(self, key: str) -> int:
        try:
            out = self.call("head_object", Bucket=self.bucket, Key=self.full(key))
        except ClientError as exc:
            if _missing(exc):
                raise BlobNotFoundError(key) from exc
            raise
        return int(out["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        self.call("delete_object", Bucket=self.bucket, Key=self.full(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in lexicographic order (S3's listing order)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield str(item["Key"])[len(self.prefix) :]
        except BotoCoreError as exc:
            raise BlobStoreUnavailableError(f"object store unreachable on list: {exc}") from exc

    def local_path(self, key: str) -> Path | None:
        return None
