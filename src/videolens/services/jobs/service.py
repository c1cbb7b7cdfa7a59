"""The jobs capability: start (idempotent), inspect, list, cancel and page through video analysis jobs."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.jobs import JobResultRow, JobRow
from videolens.runtime.settings import Settings
from videolens.services.errors import (
    IdempotencyMismatchError,
    InvalidObjectError,
    InvalidPaginationTokenError,
    InvalidParameterError,
    NotFoundError,
)
from videolens.services.events.models import LocalMessage
from videolens.services.events.service import EventsService
from videolens.services.jobs.models import MAX_RESULTS, Job, ResultPage
from videolens.services.jobs.registry import JobTypeRegistry
from videolens.services.pagination import decode_token, encode_token
from videolens.services.storage.service import StorageService

JOB_TAG_RE = re.compile(r"^[a-zA-Z0-9_.\-:+=/]{1,1024}$")
TOKEN_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")
JOB_ID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")
log = logging.getLogger(__name__)


class JobsService:
    """Front-door neutral job API; the work itself is done by `JobWorkers` (see workers.py)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        storage: StorageService,
        events: EventsService,
        types: JobTypeRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.events = events
        #: the job types of this process; capabilities register theirs (see `container.py`)
        self.types = types if types is not None else JobTypeRegistry()
        #: set when a job is queued so idle workers of this process start at once instead of polling
        self.wake = threading.Event()

    # ---------------------------------------------------------------- start
    def start(
        self,
        job_type: str,
        bucket: str,
        key: str,
        *,
        params: dict[str, Any] | None = None,
        job_tag: str | None = None,
        topic_arn: str | None = None,
        role_arn: str | None = None,
        client_request_token: str | None = None,
        api: str = "native",
    ) -> Job:
        """Queue a job; the same `client_request_token` (per API) and request return the same job."""
        params = dict(params or {})
        self.types.get(job_type)  # UnknownJobTypeError names the registered ones
        if not bucket or not key:
            raise InvalidParameterError("the video must name a bucket and a key")
        if job_tag is not None and not JOB_TAG_RE.match(job_tag):
            raise InvalidParameterError("JobTag must be 1-1024 characters of [a-zA-Z0-9_.-:+=/]")
        if client_request_token is not None and not TOKEN_RE.match(client_request_token):
            raise InvalidParameterError("ClientRequestToken must be 1-64 characters of [a-zA-Z0-9-_]")
        fingerprint = _fingerprint(job_type, bucket, key, params, job_tag, topic_arn, role_arn)
        if client_request_token is not None:
            existing = self._by_token(api, client_request_token)
            if existing is not None:
                return self._idempotent(existing, fingerprint)
        self._validate(job_type, bucket, key, params, topic_arn)
        row = JobRow(
            job_id=secrets.token_hex(32),
            job_type=job_type,
            status="IN_PROGRESS",
            progress=0.0,
            input_bucket=bucket,
            input_key=key,
            params={**params, "_fingerprint": fingerprint},
            api=api,
            client_request_token=client_request_token,
            job_tag=job_tag,
            topic_arn=topic_arn,
            role_arn=role_arn,
            result_count=0,
            created_at=datetime.now(UTC),
            attempts=0,
        )
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            # a concurrent start with the same token won the race
            existing = self._by_token(api, client_request_token or "")
            if existing is None:
                raise
            return self._idempotent(existing, fingerprint)
        self.wake.set()
        return _job(row)

    def _by_token(self, api: str, token: str) -> JobRow | None:
        with self.db.session() as s:
            return s.scalar(select(JobRow).where(JobRow.api == api, JobRow.client_request_token == token))

    @staticmethod
    def _idempotent(row: JobRow, fingerprint: str) -> Job:
        if row.params.get("_fingerprint") != fingerprint:
            raise IdempotencyMismatchError("ClientRequestToken was already used for a different request")
        return _job(row)

    def _validate(
        self, job_type: str, bucket: str, key: str, params: dict[str, Any], topic_arn: str | None
    ) -> None:
        try:
            self.storage.head_object(bucket, key)
        except InvalidObjectError:
            raise
        except Exception as exc:  # NoSuchBucket / NoSuchKey / bad names: all mean "unusable S3 object"
            raise InvalidObjectError(f"Unable to get object metadata from S3: {bucket}/{key}") from exc
        self.check_params(job_type, params)
        if topic_arn is not None and not self.events.topic_exists(topic_arn):
            raise InvalidParameterError(f"SNS topic does not exist: {topic_arn}")

    def check_params(self, job_type: str, params: dict[str, Any]) -> None:
        """Validate a job's parameters alone (callers check them before storing a large upload)."""
        self.types.get(job_type).check_params(params)

    # ---------------------------------------------------------------- read
    def get(self, job_id: str) -> Job:
        with self.db.session() as s:
            return _job(self._row(s, job_id))

    def _row(self, s: Session, job_id: str) -> JobRow:
        row = s.get(JobRow, job_id) if JOB_ID_RE.match(job_id or "") else None
        if row is None:
            raise NotFoundError(f"job {job_id!r} does not exist")
        return row

    def find_by_input(self, bucket: str, key_prefix: str) -> Job | None:
        """The newest job whose input object lies under `bucket`/`key_prefix` (upload cleanup)."""
        q = (
            select(JobRow)
            .where(JobRow.input_bucket == bucket, JobRow.input_key.startswith(key_prefix, autoescape=True))
            .order_by(JobRow.created_at.desc())
            .limit(1)
        )
        with self.db.session() as s:
            row = s.scalars(q).first()
            return _job(row) if row is not None else None

    def list(
        self,
        status: str | None = None,
        job_type: str | None = None,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """Newest first."""
        offset = int(decode_token("jobs", next_token)["o"]) if next_token else 0
        limit = _page_size(max_results)
        q = select(JobRow).order_by(JobRow.created_at.desc(), JobRow.job_id)
        if status is not None:
            q = q.where(JobRow.status == status)
        if job_type is not None:
            q = q.filter_by(job_type=job_type)
        with self.db.session() as s:
            rows = s.scalars(q.offset(offset).limit(limit + 1)).all()
        token = encode_token("jobs", {"o": offset + limit}) if len(rows) > limit else None
        return [_job(r) for r in rows[:limit]], token

    def results(
        self,
        job_id: str,
        max_results: int | None = None,
        next_token: str | None = None,
        sort_by: str = "TIMESTAMP",
    ) -> ResultPage:
        if sort_by not in ("TIMESTAMP", "INDEX"):
            raise InvalidParameterError("SortBy must be TIMESTAMP or INDEX")
        limit = _page_size(max_results)
        offset = 0
        if next_token:
            state = decode_token("job-results", next_token)
            if state.get("j") != job_id[:16] or state.get("s") != sort_by:
                raise InvalidPaginationTokenError("the pagination token belongs to another request")
            offset = int(state["o"])
        with self.db.session() as s:
            job = _job(self._row(s, job_id))
            q = select(JobResultRow).where(JobResultRow.job_id == job_id)
            if sort_by == "INDEX":
                q = q.order_by(JobResultRow.person_index, JobResultRow.timestamp_ms, JobResultRow.seq)
            else:
                q = q.order_by(JobResultRow.timestamp_ms, JobResultRow.seq)
            rows = s.scalars(q.offset(offset).limit(limit + 1)).all() if job.status == "SUCCEEDED" else []
        token = None
        if len(rows) > limit:
            token = encode_token("job-results", {"o": offset + limit, "s": sort_by, "j": job_id[:16]})
        return ResultPage(job, [dict(r.doc) for r in rows[:limit]], token)

    # ---------------------------------------------------------------- cancel
    def cancel(self, job_id: str) -> Job:
        """Stop a queued or running job; its worker notices at the next frame / heartbeat."""
        with self.db.session() as s:
            row = self._row(s, job_id)
            if row.status == "IN_PROGRESS":
                row.status = "CANCELLED"
                row.status_message = "cancelled on request"
                row.completed_at = datetime.now(UTC)
                row.lease_expires = None
            return _job(row)

    # ---------------------------------------------------------------- notification
    def completion_message(self, job: Job) -> dict[str, Any]:
        """Rekognition's job-completion document, published on the job's topic."""
        doc: dict[str, Any] = {
            "JobId": job.job_id,
            "Status": job.status if job.status in ("SUCCEEDED", "FAILED") else "FAILED",
            "API": self.types.get(job.job_type).api_name if job.job_type in self.types else job.job_type,
        }
        if job.job_tag is not None:
            doc["JobTag"] = job.job_tag
        done = job.completed_at or datetime.now(UTC)
        if done.tzinfo is None:
            done = done.replace(tzinfo=UTC)
        doc["Timestamp"] = int(done.timestamp() * 1000)
        doc["Video"] = {"S3ObjectName": job.key, "S3Bucket": job.bucket}
        return doc

    def notify_in(self, s: Session, job_id: str) -> LocalMessage | None:
        """Queue the completion message inside the caller's transaction; returns what to `announce` later."""
        job = _job(self._row(s, job_id))
        if job.topic_arn is None:
            return None
        try:
            return self.events.publish_in(
                s, job.topic_arn, json.dumps(self.completion_message(job), separators=(",", ":"))
            )
        except NotFoundError:  # the topic was deleted while the job ran: the job still completes
            log.warning("job %s: notification topic %s no longer exists", job_id, job.topic_arn)
            return None


def _fingerprint(
    job_type: str,
    bucket: str,
    key: str,
    params: dict[str, Any],
    job_tag: str | None,
    topic_arn: str | None,
    role_arn: str | None,
) -> str:
    doc = [job_type, bucket, key, params, job_tag, topic_arn, role_arn]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _page_size(max_results: int | None) -> int:
    if max_results is None:
        return MAX_RESULTS
    if max_results < 1:
        raise InvalidParameterError("MaxResults must be at least 1")
    return min(int(max_results), MAX_RESULTS)


def _job(row: JobRow) -> Job:
    return Job(
        job_id=row.job_id,
        job_type=row.job_type,
        status=row.status,
        status_message=row.status_message,
        progress=float(row.progress or 0.0),
        bucket=row.input_bucket,
        key=row.input_key,
        params={k: v for k, v in (row.params or {}).items() if not k.startswith("_")},
        job_tag=row.job_tag,
        topic_arn=row.topic_arn,
        role_arn=row.role_arn,
        client_request_token=row.client_request_token,
        video_metadata=row.video_metadata,
        output=row.output,
        result_count=int(row.result_count or 0),
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        attempts=int(row.attempts or 0),
    )
