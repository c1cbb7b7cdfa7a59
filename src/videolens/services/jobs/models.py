"""Result types and constants of the jobs capability (front-door neutral)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

JobStatus = Literal["IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELLED"]
SortBy = Literal["TIMESTAMP", "INDEX"]

MAX_RESULTS = 1000
#: user metadata put on objects written by jobs (bucket rules skip them, so a rule never loops)
JOB_METADATA_KEY = "videolens-job-id"


class JobStopped(Exception):
    """The job was cancelled or its lease was lost while it ran (a job type raises it to stop early)."""


@dataclass(frozen=True)
class ResultEntry:
    """One stored result item of a job, in the order the job found it."""

    timestamp_ms: int
    person_index: int | None
    doc: dict[str, Any]


@dataclass(frozen=True)
class Job:
    job_id: str
    job_type: str
    status: str
    status_message: str | None
    progress: float  # percent 0..100
    bucket: str
    key: str
    params: dict[str, Any]
    job_tag: str | None
    topic_arn: str | None
    role_arn: str | None
    client_request_token: str | None
    video_metadata: dict[str, Any] | None
    output: dict[str, Any] | None
    result_count: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    attempts: int

    @property
    def done(self) -> bool:
        return self.status != "IN_PROGRESS"

    @property
    def phase(self) -> str:
        """Status with QUEUED told apart: Rekognition has no such state, the native API shows it."""
        return "QUEUED" if self.status == "IN_PROGRESS" and self.started_at is None else self.status


@dataclass(frozen=True)
class ResultPage:
    job: Job
    #: FaceDetection-like docs ({timestamp_ms, track_id, face}) or PersonMatch-like ones
    #: ({timestamp_ms, person_index, track_id, face, matches})
    items: list[dict[str, Any]]
    next_token: str | None
