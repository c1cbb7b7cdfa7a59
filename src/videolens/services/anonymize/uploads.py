"""Anonymize jobs from an upload: the file becomes an object of an internal bucket, then a normal job.

The REST front door and anything else holding a file stream share this path, so an uploaded video is
processed by the same durable job (queue, lease, cancel, progress, restart) as a named bucket object.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any

from videolens.services.errors import AlreadyExistsError, PayloadTooLargeError
from videolens.services.jobs.models import JOB_METADATA_KEY, Job
from videolens.services.jobs.service import JobsService
from videolens.services.storage.service import StorageService

#: internal bucket holding uploaded inputs (and, next to them, their results)
UPLOAD_BUCKET = "videolens-uploads"
#: metadata value marking an upload: objects carrying JOB_METADATA_KEY never trigger bucket rules
UPLOAD_MARKER = "upload"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 1024 * 1024


def upload_key(filename: str | None) -> str:
    """`<random>/<clean name>`: the name survives (result naming, download name), collisions cannot."""
    name = _UNSAFE.sub("_", PurePosixPath((filename or "").replace("\\", "/")).name).strip("._")[:200]
    if not name:
        name = "upload.mp4"
    elif "." not in name:
        name = f"{name}.mp4"  # the anonymize service tells images from videos by the suffix
    return f"{uuid.uuid4().hex}/{name}"


def store_upload(
    storage: StorageService, chunks: Iterable[bytes], filename: str | None, max_bytes: int
) -> tuple[str, str]:
    """Copy `chunks` into the upload bucket as they come (bounded memory, nothing spooled first);
    refuse the first byte over `max_bytes` (the partly written blob is dropped, nothing stays)."""
    with contextlib.suppress(AlreadyExistsError):  # made on first use
        storage.create_bucket(UPLOAD_BUCKET)
    key = upload_key(filename)

    def capped() -> Iterator[bytes]:
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:  # the storage drops the partly written blob when this propagates
                raise PayloadTooLargeError(f"the upload exceeds the limit of {max_bytes} bytes")
            yield chunk

    storage.put_object(
        UPLOAD_BUCKET,
        key,
        capped(),
        content_type="application/octet-stream",
        metadata={JOB_METADATA_KEY: UPLOAD_MARKER},
    )
    return UPLOAD_BUCKET, key


def upload_params(params: dict[str, Any]) -> dict[str, Any]:
    """The job parameters of an upload: its result always goes beside it in the upload bucket."""
    return {k: v for k, v in params.items() if k not in ("output_bucket", "output_key")}


def start_stored_upload_job(jobs: JobsService, key: str, params: dict[str, Any]) -> Job:
    """Queue the anonymize job of an upload already stored; the upload goes when that fails."""
    try:
        return jobs.start("anonymize", UPLOAD_BUCKET, key, params=upload_params(params), api="rest")
    except BaseException:
        jobs.storage.delete_object(UPLOAD_BUCKET, key)
        raise


def start_upload_job(
    jobs: JobsService, chunks: Iterable[bytes], filename: str | None, params: dict[str, Any], max_bytes: int
) -> Job:
    """Validate the parameters, store the upload, queue an anonymize job on it (result beside it)."""
    jobs.check_params("anonymize", upload_params(params))  # a bad option fails before the copy
    _bucket, key = store_upload(jobs.storage, chunks, filename, max_bytes)
    return start_stored_upload_job(jobs, key, params)
