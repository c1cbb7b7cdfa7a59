"""Anonymize jobs from an upload: the file becomes an object of an internal bucket, then a normal job.

The REST front door and anything else holding a file stream share this path, so an uploaded video is
processed by the same durable job (queue, lease, cancel, progress, restart) as a named bucket object.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO

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
    storage: StorageService, stream: BinaryIO, filename: str | None, max_bytes: int
) -> tuple[str, str]:
    """Copy `stream` into the upload bucket in chunks (bounded memory); refuse more than `max_bytes`."""
    with contextlib.suppress(AlreadyExistsError):  # made on first use
        storage.create_bucket(UPLOAD_BUCKET)
    key = upload_key(filename)

    def chunks() -> Iterator[bytes]:
        size = 0
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:  # the storage drops the partly written blob when this propagates
                raise PayloadTooLargeError(f"the upload exceeds the limit of {max_bytes} bytes")
            yield chunk

    storage.put_object(
        UPLOAD_BUCKET,
        key,
        chunks(),
        content_type="application/octet-stream",
        metadata={JOB_METADATA_KEY: UPLOAD_MARKER},
    )
    return UPLOAD_BUCKET, key


def start_upload_job(
    jobs: JobsService, stream: BinaryIO, filename: str | None, params: dict[str, Any], max_bytes: int
) -> Job:
    """Validate the parameters, store the upload, queue an anonymize job on it (result beside it)."""
    params = {k: v for k, v in params.items() if k not in ("output_bucket", "output_key")}
    jobs.check_params("anonymize", params)  # a bad option fails before a large upload is copied
    bucket, key = store_upload(jobs.storage, stream, filename, max_bytes)
    try:
        return jobs.start("anonymize", bucket, key, params=params, api="rest")
    except BaseException:
        jobs.storage.delete_object(bucket, key)
        raise
