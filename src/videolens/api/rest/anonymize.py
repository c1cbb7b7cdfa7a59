"""Native REST routes of anonymization: submit a job (upload or bucket object), poll it, download it.

A thin face over the anonymize capability's public job API (`services/anonymize/service.py:
AnonymizeJobs`): uploads become objects of an internal bucket and every submission is an `anonymize`
job of `/v1/jobs`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.datastructures import UploadFile

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.container import Container
from videolens.services.auth.roles import Role
from videolens.services.errors import InvalidParameterError
from videolens.services.jobs.models import Job

router = APIRouter(prefix="/v1/anonymize", tags=["anonymize"])


class AnonymizeRequest(BaseModel):
    """The fields of a submission, as form fields (beside an uploaded `file`) or a JSON object."""

    model_config = ConfigDict(extra="forbid")

    bucket: str | None = None
    key: str | None = None
    mode: str | None = None
    shape: str | None = None
    mask_scale: float | None = None
    mosaic_size: int | None = None
    color: str | None = None
    threshold: float | None = None
    detect_every: str | None = None
    detect_size: int | None = None
    spare_collection: str | None = None
    spare_threshold: float | None = None
    codec: str | None = None
    crf: int | None = None
    preset: str | None = None
    boxes: bool = False
    output_bucket: str | None = None
    output_key: str | None = None

    def params(self) -> dict[str, Any]:
        fields = self.model_dump(exclude={"bucket", "key", "boxes", "detect_size"}, exclude_none=True)
        params = {k: v for k, v in fields.items() if v != ""}
        if self.detect_size is not None:
            params["detect_max_side"] = self.detect_size
        if self.boxes:
            params["boxes_json"] = True
        return params


class ResultLocation(BaseModel):
    bucket: str
    key: str
    boxes_key: str | None


class JobOut(BaseModel):
    job_id: str
    #: QUEUED (no worker took it yet) → IN_PROGRESS → SUCCEEDED | FAILED | CANCELLED
    status: str
    input: str
    bucket: str
    key: str
    progress: float
    frames_done: int | None
    faces: int | None
    spared: int | None
    fps: float | None
    warning: str | None
    error: str | None
    error_code: str | None
    created_at: datetime
    finished_at: datetime | None
    result: ResultLocation | None
    result_url: str | None
    boxes_url: str | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        out = job.output or {}
        done = job.status == "SUCCEEDED"
        base = f"/v1/anonymize/jobs/{job.job_id}"
        return cls(
            job_id=job.job_id,
            status=job.phase,
            input=PurePosixPath(job.key).name,
            bucket=job.bucket,
            key=job.key,
            progress=job.progress,
            frames_done=out.get("frames"),
            faces=out.get("faces"),
            spared=out.get("spared"),
            fps=out.get("fps"),
            warning=out.get("warning"),
            error=job.status_message if job.status in ("FAILED", "CANCELLED") else None,
            error_code=out.get("error_code") if job.status == "FAILED" else None,
            created_at=job.created_at,
            finished_at=job.completed_at,
            result=ResultLocation(bucket=out["bucket"], key=out["key"], boxes_key=out.get("boxes_key"))
            if done and "key" in out
            else None,
            result_url=f"{base}/result" if done else None,
            boxes_url=f"{base}/boxes" if done and out.get("boxes_key") else None,
        )


class JobList(BaseModel):
    jobs: list[JobOut]
    next_token: str | None = None


def _parse(fields: dict[str, Any]) -> AnonymizeRequest:
    try:
        return AnonymizeRequest.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidParameterError(f"invalid request: {problems}") from None


@router.post("/jobs", status_code=202, response_model=JobOut, dependencies=[require_role(Role.OPERATOR)])
async def create_job(request: Request, container: ContainerDep) -> JobOut:
    """Anonymize an uploaded `file` (multipart, options as form fields) or a stored `bucket` + `key`
    (form fields or a JSON object)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:  # malformed JSON or bad UTF-8: a 400, not a 500
            raise InvalidParameterError("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise InvalidParameterError("the JSON body must be an object")
        return await _submit(container, _parse(body), None)
    async with request.form() as form:
        upload = form.get("file")
        fields = {k: v for k, v in form.multi_items() if k != "file" and isinstance(v, str)}
        return await _submit(container, _parse(fields), upload if isinstance(upload, UploadFile) else None)


async def _submit(container: Container, req: AnonymizeRequest, upload: UploadFile | None) -> JobOut:
    if upload is None and req.bucket is not None and req.key is not None:
        job = await run_in_threadpool(container.anonymize.start, req.bucket, req.key, req.params())
    elif upload is not None and (req.bucket is None or req.key is None):
        job = await run_in_threadpool(
            container.anonymize.start_upload,
            upload.file,
            upload.filename,
            req.params(),
            container.settings.max_upload_bytes,
        )
    else:
        raise InvalidParameterError("give either a 'file' upload or both 'bucket' and 'key'")
    return JobOut.of(job)


@router.get("/jobs", response_model=JobList, dependencies=[require_role(Role.VIEWER)])
async def list_jobs(container: ContainerDep, next_token: str | None = None) -> JobList:
    jobs, token = await run_in_threadpool(container.anonymize.list, next_token)
    return JobList(jobs=[JobOut.of(j) for j in jobs], next_token=token)


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=[require_role(Role.VIEWER)])
async def get_job(container: ContainerDep, job_id: str) -> JobOut:
    return JobOut.of(await run_in_threadpool(container.anonymize.get, job_id))


@router.get(
    "/jobs/{job_id}/result",
    response_class=StreamingResponse,
    dependencies=[require_role(Role.VIEWER, signed_url=True)],
)
async def get_result(container: ContainerDep, job_id: str) -> StreamingResponse:
    return await _stream(container, job_id, "result")


@router.get(
    "/jobs/{job_id}/boxes",
    response_class=StreamingResponse,
    dependencies=[require_role(Role.VIEWER, signed_url=True)],
)
async def get_boxes(container: ContainerDep, job_id: str) -> StreamingResponse:
    return await _stream(container, job_id, "boxes")


@router.delete("/jobs/{job_id}", response_model=JobOut, dependencies=[require_role(Role.OPERATOR)])
async def cancel_job(container: ContainerDep, job_id: str) -> JobOut:
    """Cancel a queued or running job (its worker stops within a frame); a finished job is unchanged."""
    return JobOut.of(await run_in_threadpool(container.anonymize.cancel, job_id))


async def _stream(container: Container, job_id: str, which: str) -> StreamingResponse:
    info, chunks = await run_in_threadpool(container.anonymize.open_output, job_id, which)
    name = PurePosixPath(info.key).name.replace('"', "").replace("\\", "")
    return StreamingResponse(
        chunks,
        media_type=info.content_type,
        headers={"content-length": str(info.size), "content-disposition": f'attachment; filename="{name}"'},
    )
