"""The durable job queue in the metadata store: claim with a lease, heartbeat, finish under a fencing token.

Claiming: PostgreSQL picks the oldest runnable job with `SELECT ... FOR UPDATE SKIP LOCKED`, so many
workers on many machines never wait for each other; SQLite (one writer at a time) claims with a single
conditional UPDATE. A claim writes a fresh `lease_token`; every later write of that worker (heartbeat,
result) is conditioned on it, so a worker that lost its lease (it stalled, the job was cancelled, or
another worker took the job over after this one died) can no longer change the job.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.jobs import JobResultRow, JobRow
from videolens.services.video_analysis.face_pipeline import ResultEntry

#: a job whose workers died this many times is failed instead of being claimed again
MAX_ATTEMPTS = 3


class JobQueue:
    def __init__(self, db: Database, lease_seconds: float) -> None:
        self.db = db
        self.lease_seconds = lease_seconds

    def _runnable(self, now: float):  # type: ignore[no-untyped-def]
        return and_(
            JobRow.status == "IN_PROGRESS",
            or_(JobRow.lease_expires.is_(None), JobRow.lease_expires < now),
            JobRow.attempts < MAX_ATTEMPTS,
        )

    def claim(self, owner: str) -> tuple[str, str] | None:
        """Take the oldest runnable job; returns (job id, lease token) or None."""
        now = time.time()
        self._fail_exhausted(now)
        token = str(uuid.uuid4())
        values = {
            "lease_owner": owner,
            "lease_token": token,
            "lease_expires": now + self.lease_seconds,
            "attempts": JobRow.attempts + 1,
        }
        with self.db.session() as s:
            pick = (
                select(JobRow.job_id)
                .where(self._runnable(now))
                .order_by(JobRow.created_at, JobRow.job_id)
                .limit(1)
            )
            if self.db.is_sqlite:
                s.execute(
                    update(JobRow)
                    .where(JobRow.job_id == pick.scalar_subquery(), self._runnable(now))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                job_id = s.scalar(select(JobRow.job_id).where(JobRow.lease_token == token))
            else:
                job_id = s.scalar(pick.with_for_update(skip_locked=True))
                if job_id is not None:
                    s.execute(update(JobRow).where(JobRow.job_id == job_id).values(**values))
            if job_id is None:
                return None
            s.execute(
                update(JobRow)
                .where(JobRow.job_id == job_id, JobRow.started_at.is_(None))
                .values(started_at=datetime.now(UTC))
            )
            return str(job_id), token

    def _fail_exhausted(self, now: float) -> None:
        with self.db.session() as s:
            s.execute(
                update(JobRow)
                .where(
                    JobRow.status == "IN_PROGRESS",
                    JobRow.lease_expires < now,
                    JobRow.attempts >= MAX_ATTEMPTS,
                )
                .values(
                    status="FAILED",
                    status_message=f"the job's worker stopped {MAX_ATTEMPTS} times while running it",
                    completed_at=datetime.now(UTC),
                    lease_token=None,
                )
                .execution_options(synchronize_session=False)
            )

    def heartbeat(self, job_id: str, token: str, progress: float | None) -> bool:
        """Extend the lease (and record progress); False when the job is no longer ours to run."""
        values: dict[str, object] = {"lease_expires": time.time() + self.lease_seconds}
        if progress is not None:
            values["progress"] = round(float(progress), 2)
        with self.db.session() as s:
            result = s.execute(
                update(JobRow)
                .where(JobRow.job_id == job_id, JobRow.lease_token == token, JobRow.status == "IN_PROGRESS")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def succeed(
        self,
        job_id: str,
        token: str,
        entries: list[ResultEntry],
        metadata: dict[str, object] | None,
        output: dict[str, object] | None,
        then: Callable[[Session], None] | None = None,
    ) -> bool:
        """Replace the job's results and mark it SUCCEEDED, atomically, if we still hold the lease.

        `then(session)` runs in the same transaction (the completion notification is queued there, so a
        crash can never leave a finished job without its notification or send one for an unfinished job).
        """
        with self.db.session() as s:
            result = s.execute(
                update(JobRow)
                .where(JobRow.job_id == job_id, JobRow.lease_token == token, JobRow.status == "IN_PROGRESS")
                .values(
                    status="SUCCEEDED",
                    progress=100.0,
                    status_message=None,
                    video_metadata=metadata,
                    output=output,
                    result_count=len(entries),
                    completed_at=datetime.now(UTC),
                    lease_expires=None,
                )
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            s.execute(delete(JobResultRow).where(JobResultRow.job_id == job_id))
            if entries:
                s.execute(
                    insert(JobResultRow),
                    [
                        {
                            "job_id": job_id,
                            "seq": i,
                            "timestamp_ms": e.timestamp_ms,
                            "person_index": e.person_index,
                            "doc": e.doc,
                        }
                        for i, e in enumerate(entries)
                    ],
                )
            if then is not None:
                then(s)
            return True

    def fail(
        self,
        job_id: str,
        token: str,
        message: str,
        metadata: dict[str, object] | None = None,
        then: Callable[[Session], None] | None = None,
        output: dict[str, object] | None = None,
    ) -> bool:
        with self.db.session() as s:
            result = s.execute(
                update(JobRow)
                .where(JobRow.job_id == job_id, JobRow.lease_token == token, JobRow.status == "IN_PROGRESS")
                .values(
                    status="FAILED",
                    status_message=message[:4000],
                    video_metadata=metadata,
                    output=output,
                    completed_at=datetime.now(UTC),
                    lease_expires=None,
                )
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            if then is not None:
                then(s)
            return True

    def owns(self, job_id: str, token: str) -> bool:
        """Whether the holder of `token` may still run the job (False once cancelled or taken over)."""
        with self.db.session() as s:
            row = s.execute(select(JobRow.status, JobRow.lease_token).where(JobRow.job_id == job_id)).first()
        return row is not None and row.status == "IN_PROGRESS" and row.lease_token == token

    def release(self, job_id: str, token: str) -> None:
        """Give a claimed job back untouched (worker shutting down): another worker may take it at once."""
        with self.db.session() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.job_id == job_id, JobRow.lease_token == token, JobRow.status == "IN_PROGRESS")
                .values(lease_expires=None, lease_owner=None, lease_token=None, attempts=JobRow.attempts - 1)
                .execution_options(synchronize_session=False)
            )
