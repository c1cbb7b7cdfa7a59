"""Job types and their registry: each type brings its parameter check and its `run`; no branching on names.

A capability adds a job type with one module (a class satisfying `JobType`) and one registration line in
the composition root (`videolens/container.py`): `container.jobs.types.register(MyJob(...))`. The jobs
service checks parameters with the type's `check_params`, the workers call its `run`, bucket rules reuse
the same check. Nothing in `services/jobs` imports the capabilities that register types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from videolens.services.errors import DuplicateJobTypeError, UnknownJobTypeError
from videolens.services.jobs.models import Job, ResultEntry


@dataclass(frozen=True)
class JobRun:
    """What one attempt of a job gets: the job, where to report progress, when to stop, a scratch dir."""

    job: Job
    progress: Callable[[float], None]
    should_stop: Callable[[], bool]
    work_dir: Path


@dataclass(frozen=True)
class JobOutcome:
    """What a finished attempt stores: result entries, the video's metadata, the job's output summary."""

    entries: list[ResultEntry] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    output: dict[str, Any] | None = None


@runtime_checkable
class JobType(Protocol):
    """One kind of job. `run` raises `JobStopped` within a frame of `should_stop()` turning true."""

    #: the name stored on job rows and given by clients (`face-detection`, `anonymize`, ...)
    name: str
    #: the Rekognition-style Start operation named in completion messages
    api_name: str

    def check_params(self, params: dict[str, Any]) -> None:
        """Raise a `VideolensError` (InvalidParameterError, NotFoundError...) for unusable parameters."""
        ...

    def run(self, run: JobRun) -> JobOutcome: ...


class JobTypeRegistry:
    """The job types of one process, by name, in registration order."""

    def __init__(self) -> None:
        self._types: dict[str, JobType] = {}

    def register(self, job_type: JobType) -> JobType:
        if job_type.name in self._types:
            raise DuplicateJobTypeError(f"job type {job_type.name!r} is already registered")
        self._types[job_type.name] = job_type
        return job_type

    def get(self, name: str) -> JobType:
        """The type called `name`; `UnknownJobTypeError` (an invalid parameter) names the known ones."""
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(self._types) or "(none registered)"
            raise UnknownJobTypeError(f"job type must be one of {known}, got {name!r}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._types)

    def __contains__(self, name: object) -> bool:
        return name in self._types
