"""Picks the blob store of a process from its URL: files under the data directory, or an S3 bucket."""

from __future__ import annotations

from pathlib import Path

from videolens.backends.blobs.base import BlobStore
from videolens.backends.blobs.filesystem import FilesystemBlobStore


def open_blob_store(
    url: str,
    default_dir: Path,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    max_attempts: int = 4,
    timeout_s: float = 10.0,
) -> BlobStore:
    """`embedded` → files in default_dir; `file:///abs/dir`; `s3://bucket/prefix` → an S3-compatible store."""
    if url in ("", "embedded"):
        return FilesystemBlobStore(default_dir)
    if url.startswith("file://"):
        return FilesystemBlobStore(Path(url[len("file://") :]))
    if url.startswith("s3://"):
        from videolens.backends.blobs.s3 import S3BlobStore  # boto3 is only loaded when used

        return S3BlobStore(
            url,
            endpoint_url=endpoint_url or None,
            region=region,
            max_attempts=max_attempts,
            timeout_s=timeout_s,
        )
    raise ValueError(f"unsupported blob URL {url!r} (expected embedded, file:///dir or s3://bucket/prefix)")
