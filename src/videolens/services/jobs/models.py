"""Result types and constants of the jobs capability (front-door neutral)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

JobType = Literal["face-detection", "face-search", "anonymize"]
JOB_TYPES: tuple[str, ...] = ("face-detection", "face-search", "anonymize")
JobStatus = Literal["IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELLED"]
SortBy = Literal["TIMESTAMP", "INDEX"]

#: the Rekognition Start operation named in completion messages, per job type
API_NAMES = {
    "face-detection": "StartFaceDetection",
    "face-search": "StartFaceSearch",
    "anonymize": "StartAnonymization",
}
MAX_RESULTS = 1000


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
