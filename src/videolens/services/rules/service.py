"""Bucket rules: "when an object lands in bucket B (prefix / suffix), start job J with notification topic T".

Hooked into the storage service's object-created callbacks. Objects written by jobs themselves carry
the `videolens-job-id` metadata and never trigger a rule, so an anonymization rule on `*.mp4` does not
re-anonymize its own output.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.events import RuleRow
from videolens.services.errors import AlreadyExistsError, InvalidParameterError, NotFoundError
from videolens.services.events.service import EventsService
from videolens.services.jobs.models import JOB_METADATA_KEY
from videolens.services.jobs.service import JobsService
from videolens.services.storage.service import StorageService

log = logging.getLogger(__name__)
RULE_ID_RE = re.compile(r"^[a-zA-Z0-9_.\-]{1,48}$")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    bucket: str
    prefix: str
    suffix: str
    job_type: str
    params: dict[str, Any]
    topic_arn: str | None
    enabled: bool
    created_at: datetime

    def matches(self, bucket: str, key: str) -> bool:
        return (
            self.enabled
            and bucket == self.bucket
            and key.startswith(self.prefix)
            and key.endswith(self.suffix)
        )


class RulesService:
    def __init__(
        self, db: Database, jobs: JobsService, storage: StorageService, events: EventsService
    ) -> None:
        self.db = db
        self.jobs = jobs
        self.storage = storage
        self.events = events

    def create(
        self,
        bucket: str,
        job_type: str,
        *,
        prefix: str = "",
        suffix: str = "",
        params: dict[str, Any] | None = None,
        topic_arn: str | None = None,
        rule_id: str | None = None,
    ) -> Rule:
        self.jobs.types.get(job_type)  # UnknownJobTypeError names the registered ones
        rule_id = rule_id or uuid.uuid4().hex[:16]
        if not RULE_ID_RE.match(rule_id):
            raise InvalidParameterError("rule id must be 1-48 characters of [a-zA-Z0-9_.-]")
        self.storage.head_bucket(bucket)  # NotFound when missing
        if topic_arn is not None and not self.events.topic_exists(topic_arn):
            raise InvalidParameterError(f"topic does not exist: {topic_arn}")
        # the job type's own check: a rule is refused for exactly what a job would be refused for
        self.jobs.check_params(job_type, dict(params or {}))
        row = RuleRow(
            rule_id=rule_id,
            bucket=bucket,
            prefix=prefix,
            suffix=suffix,
            job_type=job_type,
            params=dict(params or {}),
            topic_arn=topic_arn,
            enabled=True,
            created_at=datetime.now(UTC),
        )
        with self.db.session() as s:
            if s.get(RuleRow, rule_id) is not None:
                raise AlreadyExistsError(f"rule {rule_id!r} already exists")
            s.add(row)
        return _rule(row)

    def get(self, rule_id: str) -> Rule:
        with self.db.session() as s:
            row = s.get(RuleRow, rule_id)
            if row is None:
                raise NotFoundError(f"rule {rule_id!r} does not exist")
            return _rule(row)

    def list(self, bucket: str | None = None) -> list[Rule]:
        q = select(RuleRow).order_by(RuleRow.created_at, RuleRow.rule_id)
        if bucket is not None:
            q = q.where(RuleRow.bucket == bucket)
        with self.db.session() as s:
            return [_rule(r) for r in s.scalars(q)]

    def delete(self, rule_id: str) -> None:
        with self.db.session() as s:
            row = s.get(RuleRow, rule_id)
            if row is None:
                raise NotFoundError(f"rule {rule_id!r} does not exist")
            s.delete(row)

    def on_object_created(self, bucket: str, key: str, _size: int, etag: str) -> None:
        """Storage hook: start one job per matching rule (idempotent per rule + object version)."""
        rules = [r for r in self.list(bucket) if r.matches(bucket, key)]
        if not rules:
            return
        info = self.storage.head_object(bucket, key)
        if JOB_METADATA_KEY in (info.metadata or {}):
            return
        for rule in rules:
            # one job per rule and object version, even if the hook runs twice
            token = uuid.uuid5(uuid.NAMESPACE_URL, f"{rule.rule_id}/{bucket}/{key}/{etag}").hex
            try:
                job = self.jobs.start(
                    rule.job_type,
                    bucket,
                    key,
                    params=rule.params,
                    topic_arn=rule.topic_arn,
                    job_tag=f"rule:{rule.rule_id}",
                    client_request_token=token,
                    api=f"rule:{rule.rule_id}",
                )
                log.info("rule %s started job %s for %s/%s", rule.rule_id, job.job_id, bucket, key)
            except Exception:  # one broken rule must not stop the others
                log.exception("rule %s could not start a job for %s/%s", rule.rule_id, bucket, key)


def _rule(row: RuleRow) -> Rule:
    return Rule(
        rule_id=row.rule_id,
        bucket=row.bucket,
        prefix=row.prefix,
        suffix=row.suffix,
        job_type=row.job_type,
        params=dict(row.params or {}),
        topic_arn=row.topic_arn,
        enabled=bool(row.enabled),
        created_at=row.created_at,
    )
