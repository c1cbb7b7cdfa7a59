"""Tables of the jobs capability: the durable job queue (with leases) and each job's result rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class JobRow(Base):
    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_type: Mapped[str] = mapped_column(String(32))  # face-detection | face-search | anonymize
    #: IN_PROGRESS (queued or running) | SUCCEEDED | FAILED | CANCELLED
    status: Mapped[str] = mapped_column(String(16))
    status_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    input_bucket: Mapped[str] = mapped_column(String(255))
    input_key: Mapped[str] = mapped_column(String(1024))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the front door that started it ("StartFaceDetection", "rest"...), for idempotency scoping
    api: Mapped[str] = mapped_column(String(64))
    client_request_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_tag: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    topic_arn: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    role_arn: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    video_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: lease (backends/leases): who runs it, until when (epoch seconds), and a fencing counter that
    #: every claim increments
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_token: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lease_expires: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_api_token", "api", "client_request_token", unique=True),
    )


class JobResultRow(Base):
    __tablename__ = "job_results"

    job_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("jobs.job_id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp_ms: Mapped[int] = mapped_column(Integer)
    person_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_job_results_time", "job_id", "timestamp_ms", "seq"),
        Index("ix_job_results_index", "job_id", "person_index", "timestamp_ms"),
    )
