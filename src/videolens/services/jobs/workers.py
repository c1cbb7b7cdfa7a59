"""Job workers: N threads that claim jobs from the queue, run them under a heartbeated lease, store results.

A job's results are computed from scratch on every attempt and written in the same transaction that
marks it SUCCEEDED, so a job whose worker died (SIGKILL, power loss) is simply run again by the next
worker once the lease ran out, and ends with exactly the results of an uninterrupted run.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from videolens.backends.leases import Lease
from videolens.runtime import metrics
from videolens.runtime.settings import Settings
from videolens.services.errors import VideolensError
from videolens.services.events.models import LocalMessage
from videolens.services.jobs.models import JobStopped
from videolens.services.jobs.queue import JobQueue
from videolens.services.jobs.registry import JobOutcome, JobRun
from videolens.services.jobs.service import JobsService

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0
#: how often a running job looks at the store for a cancel (cheap enough per frame batch, fast to react)
CANCEL_POLL_S = 0.5


class _Lease:
    """Heartbeats one claimed job in the background and remembers progress and whether we still own it."""

    def __init__(self, queue: JobQueue, job_id: str, token: Lease, interval_s: float) -> None:
        self.queue = queue
        self.job_id = job_id
        self.token = token
        self.interval_s = interval_s
        self.progress: float | None = None
        self.lost = threading.Event()
        self._checked_at = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id[:8]}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)

    def cancelled(self) -> bool:
        """True once the job was cancelled (or taken from us); asks the store at most every CANCEL_POLL_S."""
        if self.lost.is_set():
            return True
        now = time.monotonic()
        if now - self._checked_at >= CANCEL_POLL_S:
            self._checked_at = now
            try:
                if not self.queue.owns(self.job_id, self.token):
                    self.lost.set()
            except Exception:  # the heartbeat will tell; a failed look must not fail the job
                log.exception("checking job %s for a cancel failed", self.job_id)
        return self.lost.is_set()

    def _run(self) -> None:
        while not self._done.wait(self.interval_s):
            try:
                if not self.queue.heartbeat(self.job_id, self.token, self.progress):
                    self.lost.set()
                    return
            except Exception:  # a failed heartbeat is retried; the lease is long enough for a few misses
                log.exception("heartbeat of job %s failed", self.job_id)


class JobWorkers:
    """Background task (`start()` / `stop()`) running `settings.job_workers` worker threads."""

    def __init__(
        self,
        settings: Settings,
        jobs: JobsService,
        heartbeat_s: float | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.queue = JobQueue(jobs.db, settings.job_lease_seconds)
        self.heartbeat_s = heartbeat_s or max(0.2, settings.job_lease_seconds / 4)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for i in range(self.settings.job_workers):
            t = threading.Thread(target=self._loop, name=f"videolens-job-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self.jobs.wake.set()
        for t in self._threads:
            t.join(timeout=30)
        self._threads.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self.queue.claim(self.owner)
            except Exception:  # the store may be briefly unavailable
                log.exception("claiming a job failed")
                claimed = None
            if claimed is None:
                self.jobs.wake.wait(IDLE_POLL_S)
                self.jobs.wake.clear()
                continue
            self.run_claimed(*claimed)

    # ---------------------------------------------------------------- one job
    def run_claimed(self, job_id: str, token: Lease) -> None:
        job = self.jobs.get(job_id)
        started = time.monotonic()
        log.info("running job %s (%s, attempt %d)", job_id, job.job_type, job.attempts)
        with _Lease(self.queue, job_id, token, self.heartbeat_s) as lease:

            def progress(percent: float) -> None:
                lease.progress = percent

            def should_stop() -> bool:
                return self._stop.is_set() or lease.cancelled()

            try:
                outcome = self._execute(job_id, progress, should_stop)
            except JobStopped:
                if self._stop.is_set() and not lease.lost.is_set():
                    self.queue.release(job_id, token)
                log.info("job %s stopped before the end", job_id)
                return
            except VideolensError as exc:
                self._finish_failed(job_id, token, exc.message, exc.code)
                metrics.JOB_DURATION.labels(job.job_type, "FAILED").observe(time.monotonic() - started)
                return
            except Exception as exc:  # any bug or media surprise fails this job, not the worker
                log.exception("job %s failed", job_id)
                self._finish_failed(job_id, token, f"{type(exc).__name__}: {exc}", "internal-error")
                metrics.JOB_DURATION.labels(job.job_type, "FAILED").observe(time.monotonic() - started)
                return
        announce: list[LocalMessage] = []
        then = self._notify_in(job_id, announce)
        if self.queue.succeed(job_id, token, outcome.entries, outcome.metadata, outcome.output, then):
            metrics.JOB_DURATION.labels(job.job_type, "SUCCEEDED").observe(time.monotonic() - started)
            self._announce(announce)

    def _finish_failed(self, job_id: str, token: Lease, message: str, code: str) -> None:
        announce: list[LocalMessage] = []
        # the error's stable code goes to the job's output (the native API shows it as `error_code`)
        output: dict[str, object] = {"error_code": code}
        if self.queue.fail(job_id, token, message, output=output, then=self._notify_in(job_id, announce)):
            self._announce(announce)

    def _notify_in(self, job_id: str, announce: list[LocalMessage]) -> Callable[[Session], None]:
        def then(session: Session) -> None:
            message = self.jobs.notify_in(session, job_id)
            if message is not None:
                announce.append(message)

        return then

    def _announce(self, announce: list[LocalMessage]) -> None:
        for message in announce:
            self.jobs.events.announce(message)

    def _execute(
        self, job_id: str, progress: Callable[[float], None], should_stop: Callable[[], bool]
    ) -> JobOutcome:
        job = self.jobs.get(job_id)
        # a row of a type no capability registered (an older or newer server wrote it) fails clearly
        job_type = self.jobs.types.get(job.job_type)
        work_dir = Path(self.settings.data_dir) / "tmp"
        return job_type.run(JobRun(job, progress, should_stop, work_dir))
