"""The durable job queue in the metadata store: claim with a lease, heartbeat, finish under a fencing token.

The lease is the one of `backends/leases` on the job's own row: a claim takes the oldest runnable job
(PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite conditional UPDATE), counts an attempt and increments the
row's fencing token; every later write of that worker (heartbeat, result, release) is conditioned on
(owner, token) and on the job still running, so a worker that lost its lease (it stalled, the job was
cancelled, or another worker took the job over after this one died) can no longer change the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from videolens.backends.leases import Lease, LeaseTable, SqlLeaseStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.jobs import JobResultRow, JobRow
from videolens.services.jobs.models import ResultEntry

#: a job whose workers died this many times is failed instead of being claimed again
MAX_ATTEMPTS = 3


def _job_leases() -> LeaseTable:
    return LeaseTable(
        key=JobRow.job_id,
        owner=JobRow.lease_owner,
        token=JobRow.lease_token,
        expires=JobRow.lease_expires,
        claimable=(JobRow.status == "IN_PROGRESS", JobRow.attempts < MAX_ATTEMPTS),
        live=(JobRow.status == "IN_PROGRESS",),
        order_by=(JobRow.created_at,),
        on_claim={"attempts": JobRow.attempts + 1},
    )


def _mark_started(s: Session, lease: Lease) -> None:
    """The first claim starts the job (QUEUED → running); later claims keep that time."""
    s.execute(
        update(JobRow)
        .where(JobRow.job_id == lease.key, JobRow.started_at.is_(None))
        .values(started_at=datetime.now(UTC))
    )


class JobQueue:
    """Claims, heartbeats and finishes of job workers.

    A claim is (job id, lease): the `Lease` (owner + fencing token) is what every later call shows.
    """

    def __init__(self, db: Database, lease_seconds: float) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self.leases = SqlLeaseStore(db, _job_leases(), lease_seconds)

    @staticmethod
    def _check(job_id: str, lease: Lease) -> Lease:
        if lease.key != job_id:
            raise ValueError(f"the lease of job {lease.key} was shown for job {job_id}")
        return lease

    def claim(self, owner: str) -> tuple[str, Lease] | None:
        """Take the oldest runnable job; returns (job id, its lease) or None."""
        self._fail_exhausted(time.time())
        lease = self.leases.claim(owner, then=_mark_started)
        return None if lease is None else (str(lease.key), lease)

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
                    lease_owner=None,
                    lease_expires=None,
                )
                .execution_options(synchronize_session=False)
            )

    def heartbeat(self, job_id: str, token: Lease, progress: float | None) -> bool:
        """Extend the lease (and record progress); False when the job is no longer ours to run."""
        values = {} if progress is None else {"progress": round(float(progress), 2)}
        return self.leases.renew(self._check(job_id, token), values)

    def succeed(
        self,
        job_id: str,
        token: Lease,
        entries: list[ResultEntry],
        metadata: dict[str, object] | None,
        output: dict[str, object] | None,
        then: Callable[[Session], None] | None = None,
    ) -> bool:
        """Replace the job's results and mark it SUCCEEDED, atomically, if we still hold the lease.

        `then(session)` runs in the same transaction (the completion notification is queued there, so a
        crash can never leave a finished job without its notification or send one for an unfinished job).
        """

        def store_results(s: Session) -> None:
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

        values = {
            "status": "SUCCEEDED",
            "progress": 100.0,
            "status_message": None,
            "video_metadata": metadata,
            "output": output,
            "result_count": len(entries),
            "completed_at": datetime.now(UTC),
            "lease_expires": None,
        }
        return self._finish(job_id, token, values, store_results)

    def fail(
        self,
        job_id: str,
        token: Lease,
        message: str,
        metadata: dict[str, object] | None = None,
        then: Callable[[Session], None] | None = None,
        output: dict[str, object] | None = None,
    ) -> bool:
        values: dict[str, object] = {
            "status": "FAILED",
            "status_message": message[:4000],
            "video_metadata": metadata,
            "output": output,
            "completed_at": datetime.now(UTC),
            "lease_expires": None,
        }
        return self._finish(job_id, token, values, then)

    def _finish(
        self, job_id: str, token: Lease, values: dict[str, object], then: Callable[[Session], None] | None
    ) -> bool:
        return self.leases.write(self._check(job_id, token), values, then)

    def owns(self, job_id: str, token: Lease) -> bool:
        """Whether the holder of `token` may still run the job (False once cancelled or taken over)."""
        return self.leases.holds(self._check(job_id, token))

    def release(self, job_id: str, token: Lease) -> None:
        """Give a claimed job back untouched (worker shutting down): another worker may take it at once."""
        self.leases.release(self._check(job_id, token), {"attempts": JobRow.attempts - 1})
