"""In-process registry of asynchronous anonymization jobs (the REST front door's backend).

The project's jobs service (durable queue, leases, notifications) will take these over; until then
this small registry runs jobs on a worker thread pool, keeps their state in memory (lost on restart)
and their files under `<data_dir>/anonymize/<job id>/`.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from videolens.services.anonymize.options import AnonymizeOptions
from videolens.services.anonymize.service import VIDEO_SUFFIXES, AnonymizeService, is_image_path
from videolens.services.anonymize.sparing import SpareMatcher
from videolens.services.errors import ConflictError, NotFoundError, VideolensError

log = logging.getLogger(__name__)

JobStatus = Literal["QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED"]
#: a job's input: a context manager that yields a local file path (an upload, a bucket object...)
InputSource = Callable[[], AbstractContextManager[Path]]


@dataclass(frozen=True)
class AnonymizeJob:
    job_id: str
    input_name: str
    status: JobStatus
    created_at: datetime
    options: AnonymizeOptions
    progress: float = 0.0  # percent
    frames_done: int = 0
    frames_total: int | None = None
    faces: int = 0
    spared: int = 0
    fps: float | None = None
    warning: str | None = None
    error: str | None = None
    error_code: str | None = None
    finished_at: datetime | None = None
    output_name: str | None = None
    has_boxes: bool = False


@dataclass
class _Entry:
    job: AnonymizeJob
    dir: Path
    lock: threading.Lock = field(default_factory=threading.Lock)


class AnonymizeJobs:
    """Submit, watch and fetch anonymization jobs; one worker thread by default (the work is CPU-bound)."""

    def __init__(
        self,
        service: AnonymizeService,
        work_dir: Path,
        matcher_for: Callable[[str], SpareMatcher] | None = None,
        workers: int = 1,
    ) -> None:
        self.service = service
        self.work_dir = work_dir
        self.matcher_for = matcher_for
        self._jobs: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="anonymize")

    # BackgroundTask ---------------------------------------------------------------------------------
    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # API --------------------------------------------------------------------------------------------
    def submit(
        self, source: InputSource, input_name: str, options: AnonymizeOptions, *, boxes: bool = False
    ) -> AnonymizeJob:
        matcher = None
        if options.spare_collection is not None:
            if self.matcher_for is None:
                raise ConflictError("sparing is not available: no faces service")
            matcher = self.matcher_for(options.spare_collection)  # fails now for a missing collection
        job_id = str(uuid.uuid4())
        job_dir = self.work_dir / job_id
        job_dir.mkdir(parents=True, exist_ok=True)
        job = AnonymizeJob(job_id, input_name, "QUEUED", datetime.now(UTC), options, has_boxes=boxes)
        entry = _Entry(job, job_dir)
        with self._lock:
            self._jobs[job_id] = entry
        self._pool.submit(self._run, entry, source, matcher)
        return job

    def get(self, job_id: str) -> AnonymizeJob:
        return self._entry(job_id).job

    def list(self) -> list[AnonymizeJob]:
        with self._lock:
            entries = list(self._jobs.values())
        return sorted((e.job for e in entries), key=lambda j: j.created_at, reverse=True)

    def result_path(self, job_id: str) -> Path:
        entry = self._entry(job_id)
        if entry.job.status != "SUCCEEDED" or entry.job.output_name is None:
            raise ConflictError(f"job {job_id} has no result yet (status {entry.job.status})")
        return entry.dir / entry.job.output_name

    def boxes_path(self, job_id: str) -> Path:
        path = self.result_path(job_id).parent / "boxes.json"
        if not path.is_file():
            raise NotFoundError(f"job {job_id} was not asked for boxes")
        return path

    def delete(self, job_id: str) -> None:
        entry = self._entry(job_id)
        if entry.job.status in ("QUEUED", "IN_PROGRESS"):
            raise ConflictError(f"job {job_id} is still {entry.job.status}")
        with self._lock:
            self._jobs.pop(job_id, None)
        shutil.rmtree(entry.dir, ignore_errors=True)

    # internals --------------------------------------------------------------------------------------
    def _entry(self, job_id: str) -> _Entry:
        with self._lock:
            entry = self._jobs.get(job_id)
        if entry is None:
            raise NotFoundError(f"no anonymization job {job_id}")
        return entry

    def _update(self, entry: _Entry, **changes: object) -> None:
        with entry.lock:
            entry.job = replace(entry.job, **changes)  # type: ignore[arg-type]

    def _run(self, entry: _Entry, source: InputSource, matcher: SpareMatcher | None) -> None:
        self._update(entry, status="IN_PROGRESS")

        def progress(done: int, total: int | None) -> None:
            percent = min(99.0, 100.0 * done / total) if total else 0.0
            self._update(entry, frames_done=done, frames_total=total, progress=round(percent, 1))

        linked: Path | None = None
        try:
            with source() as path:
                suffix = Path(entry.job.input_name).suffix.lower() or path.suffix.lower()
                if not (suffix in VIDEO_SUFFIXES or is_image_path(Path(f"x{suffix}"))):
                    suffix = ".mp4"
                # the service tells images from videos by the suffix, so give the input its real one
                local = path
                if path.suffix.lower() != suffix:
                    local = linked = _link_or_copy(path, entry.dir / f"input{suffix}")
                output_name = f"output{suffix}"
                result = self.service.anonymize_file(
                    local,
                    entry.dir / output_name,
                    entry.job.options,
                    matcher=matcher,
                    boxes_json=entry.dir / "boxes.json" if entry.job.has_boxes else None,
                    progress=progress,
                )
            self._update(
                entry,
                status="SUCCEEDED",
                progress=100.0,
                frames_done=result.frames,
                faces=result.faces,
                spared=result.spared,
                fps=round(result.fps, 1),
                warning=result.warning,
                output_name=output_name,
                finished_at=datetime.now(UTC),
            )
        except VideolensError as exc:
            self._update(
                entry, status="FAILED", error=exc.message, error_code=exc.code, finished_at=datetime.now(UTC)
            )
        except Exception as exc:  # a worker must survive any single job's failure
            log.exception("anonymization job %s failed", entry.job.job_id)
            self._update(
                entry,
                status="FAILED",
                error=str(exc),
                error_code="internal-error",
                finished_at=datetime.now(UTC),
            )
        finally:
            if linked is not None:
                linked.unlink(missing_ok=True)


def _link_or_copy(src: Path, dst: Path) -> Path:
    try:
        dst.hardlink_to(src)
    except OSError:
        shutil.copyfile(src, dst)
    return dst
