"""Native REST routes of the jobs capability: start, list, inspect, page results and cancel video jobs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.jobs.models import Job, ResultPage

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
#: a registered job type (face-detection, face-search, anonymize, ...): the jobs service checks the name
JobTypeName = Annotated[str, Field(min_length=1, max_length=32, examples=["face-detection"])]


class StartJobRequest(BaseModel):
    type: JobTypeName
    bucket: str = Field(min_length=1, max_length=255)
    key: str = Field(min_length=1, max_length=1024)
    #: face-detection: {"attributes": "DEFAULT"|"ALL"}; face-search: {"collection_id", "threshold"};
    #: anonymize: AnonymizeOptions fields + "output_bucket", "output_key"
    params: dict[str, Any] = Field(default_factory=dict)
    job_tag: str | None = None
    topic_arn: str | None = None
    client_request_token: str | None = None


class JobPage(BaseModel):
    jobs: list[Job]
    next_token: str | None = None


@router.post("", status_code=202, response_model=Job, dependencies=[require_role(Role.OPERATOR)])
async def start_job(body: StartJobRequest, container: ContainerDep) -> Job:
    job: Job = await run_in_threadpool(
        container.jobs.start,
        body.type,
        body.bucket,
        body.key,
        params=body.params,
        job_tag=body.job_tag,
        topic_arn=body.topic_arn,
        client_request_token=body.client_request_token,
        api="rest",
    )
    return job


@router.get("", response_model=JobPage, dependencies=[require_role(Role.VIEWER)])
async def list_jobs(
    container: ContainerDep,
    status: Literal["IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELLED"] | None = None,
    type: JobTypeName | None = None,  # noqa: A002 - the public query parameter name
    max_results: int = Query(100, ge=1, le=1000),
    next_token: str | None = None,
) -> JobPage:
    jobs, token = await run_in_threadpool(container.jobs.list, status, type, max_results, next_token)
    return JobPage(jobs=jobs, next_token=token)


@router.get("/{job_id}", response_model=Job, dependencies=[require_role(Role.VIEWER)])
async def get_job(job_id: str, container: ContainerDep) -> Job:
    job: Job = await run_in_threadpool(container.jobs.get, job_id)
    return job


@router.get("/{job_id}/results", response_model=ResultPage, dependencies=[require_role(Role.VIEWER)])
async def job_results(
    job_id: str,
    container: ContainerDep,
    max_results: int = Query(1000, ge=1, le=1000),
    next_token: str | None = None,
    sort_by: Literal["TIMESTAMP", "INDEX"] = "TIMESTAMP",
) -> ResultPage:
    page: ResultPage = await run_in_threadpool(
        container.jobs.results, job_id, max_results, next_token, sort_by
    )
    return page


@router.post("/{job_id}/cancel", response_model=Job, dependencies=[require_role(Role.OPERATOR)])
async def cancel_job(job_id: str, container: ContainerDep) -> Job:
    job: Job = await run_in_threadpool(container.jobs.cancel, job_id)
    return job
