"""The server's Prometheus exposition: the process metrics of runtime/metrics.py + state read at scrape time.

Counters and histograms are per process (runtime/metrics.py). Facts that must be right across every
process — how many jobs are queued, running, finished — are read from the metadata store on each
scrape instead, so a dashboard shows the same numbers whichever process answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.jobs import JobRow
from videolens.backends.metadata.tables.models import ModelRow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StateCollector:
    """Gauges computed from the metadata store: jobs by type and status, models by kind."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        now = time.time()
        jobs = GaugeMetricFamily(
            "videolens_jobs",
            "Jobs in the store by type and status (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED).",
            labels=["type", "status"],
        )
        models = GaugeMetricFamily("videolens_models", "Registered models by kind.", labels=["kind"])
        with self.db.session() as s:
            # IN_PROGRESS splits on the lease: held and unexpired = running, else waiting to be claimed
            running = (JobRow.lease_owner.is_not(None)) & (JobRow.lease_expires > now)
            rows = s.execute(
                select(JobRow.job_type, JobRow.status, running.label("running"), func.count()).group_by(
                    JobRow.job_type, JobRow.status, "running"
                )
            ).all()
            counts: dict[tuple[str, str], int] = {}
            for job_type, status, is_running, count in rows:
                if status == "IN_PROGRESS":
                    status = "RUNNING" if is_running else "QUEUED"
                counts[(job_type, status)] = counts.get((job_type, status), 0) + int(count)
            for (job_type, status), count in sorted(counts.items()):
                jobs.add_metric([job_type, status], count)
            for model_kind, count in s.execute(
                select(ModelRow.kind, func.count()).group_by(ModelRow.kind)
            ).all():
                models.add_metric([model_kind], int(count))
        yield jobs
        yield models


class Telemetry:
    """What `GET /metrics` answers for one container."""

    def __init__(self, db: Database) -> None:
        self._state = CollectorRegistry(auto_describe=False)
        self._state.register(StateCollector(db))

    def exposition(self) -> bytes:
        return generate_latest(REGISTRY) + generate_latest(self._state)
