"""Cleans the internal uploads bucket: an upload and its results go `upload_grace_seconds` after its
job ended (SUCCEEDED, FAILED or CANCELLED), so the result can be downloaded in that window.

An upload is the group of objects under one random prefix (`<hex>/clip.mp4`, `<hex>/clip_anonymized.mp4`,
`<hex>/clip_anonymized.boxes.json`). A group no job refers to (the server stopped between storing the
upload and queueing its job) goes once its newest object is older than the grace period.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from videolens.services.anonymize.uploads import UPLOAD_BUCKET
from videolens.services.errors import NotFoundError

if TYPE_CHECKING:
    from videolens.services.jobs.service import JobsService
    from videolens.services.storage.service import StorageService

log = logging.getLogger(__name__)
ENDED = ("SUCCEEDED", "FAILED", "CANCELLED")


def sweep_uploads(
    jobs: JobsService, storage: StorageService, grace_s: float, now: float | None = None
) -> int:
    """Delete the uploads whose job ended more than `grace_s` ago; return how many objects went."""
    now = time.time() if now is None else now
    groups: dict[str, list[Any]] = defaultdict(list)
    token: str | None = None
    try:
        while True:
            page = storage.list_objects(UPLOAD_BUCKET, "", None, 1000, token)
            for info in page.objects:
                groups[info.key.split("/", 1)[0]].append(info)
            token = page.next_token
            if not token:
                break
    except NotFoundError:
        return 0  # no upload yet
    removed = 0
    for prefix, objects in groups.items():
        job = jobs.find_by_input(UPLOAD_BUCKET, prefix + "/")
        if job is not None:
            if job.status not in ENDED or job.completed_at is None:
                continue
            ended = job.completed_at.timestamp()
        else:
            ended = max(_ts(o.last_modified) for o in objects)
        if ended + grace_s > now:
            continue
        for info in objects:
            try:
                storage.delete_object(UPLOAD_BUCKET, info.key)
                removed += 1
            except NotFoundError:
                pass
    return removed


def _ts(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
