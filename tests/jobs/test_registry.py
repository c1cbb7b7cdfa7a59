"""Job types register themselves: a new type is one class + one registration line, no branching on names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from videolens.backends.metadata.tables.jobs import JobRow
from videolens.container import Container
from videolens.services.errors import (
    DuplicateJobTypeError,
    InvalidParameterError,
    NotFoundError,
    UnknownJobTypeError,
)
from videolens.services.jobs.registry import JobOutcome, JobRun, JobType, JobTypeRegistry
from videolens.services.jobs.workers import JobWorkers


class EchoJob:
    """A job type a test registers: it echoes a parameter back as its output."""

    name = "echo"
    api_name = "StartEcho"

    def __init__(self) -> None:
        self.runs: list[str] = []

    def check_params(self, params: dict[str, Any]) -> None:
        if not isinstance(params.get("text"), str):
            raise InvalidParameterError("an echo job needs a text")

    def run(self, run: JobRun) -> JobOutcome:
        self.runs.append(run.job.job_id)
        run.progress(50.0)
        assert run.work_dir.name == "tmp"
        return JobOutcome(output={"echo": run.job.params["text"], "key": run.job.key})


def test_the_container_registers_the_built_in_types(container: Container) -> None:
    assert container.jobs.types.names() == ("face-detection", "face-search", "anonymize", "model-analysis")
    for name in container.jobs.types.names():
        assert isinstance(container.jobs.types.get(name), JobType)
    assert [container.jobs.types.get(n).api_name for n in container.jobs.types.names()] == [
        "StartFaceDetection",
        "StartFaceSearch",
        "StartAnonymization",
        "StartModelAnalysis",
    ]


def test_duplicates_and_unknown_names_are_refused() -> None:
    registry = JobTypeRegistry()
    registry.register(EchoJob())
    with pytest.raises(DuplicateJobTypeError, match="'echo' is already registered"):
        registry.register(EchoJob())
    with pytest.raises(UnknownJobTypeError, match=r"one of echo, got 'nope'") as err:
        registry.get("nope")
    assert isinstance(err.value, InvalidParameterError) and err.value.code == "unknown-job-type"
    assert "echo" in registry and "nope" not in registry


def test_a_registered_type_runs_end_to_end(container: Container) -> None:
    echo = EchoJob()
    container.jobs.types.register(echo)  # the one registration line
    container.storage.create_bucket("inbox")
    container.storage.put_object_bytes("inbox", "a.txt", b"hello")
    with pytest.raises(InvalidParameterError, match="needs a text"):
        container.jobs.start("echo", "inbox", "a.txt", params={})
    job = container.jobs.start("echo", "inbox", "a.txt", params={"text": "hi"})
    workers = JobWorkers(container.settings, container.jobs)
    claimed = workers.queue.claim("test-worker")
    assert claimed is not None and claimed[0] == job.job_id
    workers.run_claimed(*claimed)
    done = container.jobs.get(job.job_id)
    assert (done.status, done.output, done.progress) == ("SUCCEEDED", {"echo": "hi", "key": "a.txt"}, 100.0)
    assert echo.runs == [job.job_id]
    # the completion message names the type's own Start operation
    assert container.jobs.completion_message(done)["API"] == "StartEcho"
    # REST / rules accept any registered name; rules reuse the type's own check
    with pytest.raises(InvalidParameterError, match="needs a text"):
        container.rules.create("inbox", "echo", params={"text": 3})
    rule = container.rules.create("inbox", "echo", params={"text": "from a rule"})
    assert rule.job_type == "echo"
    with pytest.raises(UnknownJobTypeError):
        container.rules.create("inbox", "no-such-type")


def test_a_stored_job_of_an_unregistered_type_fails_clearly(container: Container) -> None:
    container.storage.create_bucket("inbox")
    container.storage.put_object_bytes("inbox", "a.txt", b"hello")
    echo = EchoJob()
    container.jobs.types.register(echo)
    job = container.jobs.start("echo", "inbox", "a.txt", params={"text": "hi"})
    with container.db.session() as s:  # a row an older / newer server wrote, of a type not known here
        row = s.get(JobRow, job.job_id)
        assert row is not None
        row.job_type = "retired-type"
    workers = JobWorkers(container.settings, container.jobs)
    claimed = workers.queue.claim("test-worker")
    assert claimed is not None
    workers.run_claimed(*claimed)
    failed = container.jobs.get(job.job_id)
    assert failed.status == "FAILED"
    assert failed.output == {"error_code": "unknown-job-type"}
    assert (
        "must be one of face-detection, face-search, anonymize, model-analysis, echo, got 'retired-type'"
        in (failed.status_message or "")
    )
    assert echo.runs == []
    # the notification of such a job still names something (its stored type)
    assert json.loads(json.dumps(container.jobs.completion_message(failed)))["API"] == "retired-type"
    with pytest.raises(NotFoundError):
        container.jobs.get("0" * 64)
