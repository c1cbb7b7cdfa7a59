"""Native REST routes of anonymization: submit a job (upload or bucket object), poll it, download it.

A thin face over the anonymize capability's public job API (`services/anonymize/service.py:
AnonymizeJobs`): uploads become objects of an internal bucket and every submission is an `anonymize`
job of `/v1/jobs`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl

from anyio import from_thread
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.api.rest.multipart import (
    MAX_FIELD_BYTES,
    FormEvent,
    PartEnd,
    PartStart,
    decode_field,
    form_events,
    is_multipart,
    read_part,
)
from videolens.container import Container
from videolens.services.auth.models import Role
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


def _submission_body() -> dict[str, Any]:
    fields = AnonymizeRequest.model_json_schema()
    form = {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}, **fields["properties"]},
        "required": ["file"],
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": form},
                "application/json": {"schema": fields},
                "application/x-www-form-urlencoded": {"schema": fields},
            },
        }
    }


def _parse(fields: dict[str, Any]) -> AnonymizeRequest:
    try:
        return AnonymizeRequest.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidParameterError(f"invalid request: {problems}") from None


@router.post(
    "/jobs",
    status_code=202,
    response_model=JobOut,
    openapi_extra=_submission_body(),
    dependencies=[require_role(Role.OPERATOR)],
)
async def create_job(request: Request, container: ContainerDep) -> JobOut:
    """Anonymize an uploaded `file` (multipart, options as form fields) or a stored `bucket` + `key`
    (form fields or a JSON object)."""
    if is_multipart(request):
        return await _submit_form(request, container)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        data = await read_part(_body_events(request), MAX_FIELD_BYTES, "the form")
        return await _submit_stored(container, _parse(dict(parse_qsl(decode_field(data, "form")))))
    try:
        body = await request.json()
    except ValueError:  # malformed JSON or bad UTF-8: a 400, not a 500
        raise InvalidParameterError("the body is not valid JSON (or a multipart form)") from None
    if not isinstance(body, dict):
        raise InvalidParameterError("the JSON body must be an object")
    return await _submit_stored(container, _parse(body))


async def _submit_stored(container: Container, req: AnonymizeRequest) -> JobOut:
    if req.bucket is None or req.key is None:
        raise InvalidParameterError("give either a 'file' upload or both 'bucket' and 'key'")
    job = await run_in_threadpool(container.anonymize.start, req.bucket, req.key, req.params())
    return JobOut.of(job)


async def _submit_form(request: Request, container: Container) -> JobOut:
    """The file part streams into the upload bucket as it arrives, capped at `max_upload_bytes`;
    options before it are checked before a byte is stored, options after it before the job starts."""
    events = form_events(request)
    fields: dict[str, str] = {}
    stored: str | None = None
    try:
        async for event in events:
            if not isinstance(event, PartStart):
                continue
            if event.name != "file":
                data = await read_part(events, MAX_FIELD_BYTES, f"form field '{event.name}'")
                fields[event.name] = decode_field(data, event.name)
                continue
            if stored is not None:
                raise InvalidParameterError("more than one 'file' part")
            req = _parse(fields)
            if req.bucket is not None or req.key is not None:
                raise InvalidParameterError("give either a 'file' upload or both 'bucket' and 'key'")
            await run_in_threadpool(container.anonymize.check_upload_params, req.params())
            stored = await run_in_threadpool(
                container.anonymize.store_upload,
                _part_chunks(events),
                event.filename,
                container.settings.max_upload_bytes,
            )
        if stored is None:
            return await _submit_stored(container, _parse(fields))
        req = _parse(fields)
        if req.bucket is not None or req.key is not None:
            raise InvalidParameterError("give either a 'file' upload or both 'bucket' and 'key'")
        job = await run_in_threadpool(container.anonymize.start_stored_upload, stored, req.params())
    except BaseException:
        if stored is not None:
            await run_in_threadpool(container.anonymize.drop_upload, stored)
        raise
    return JobOut.of(job)


async def _body_events(request: Request) -> AsyncIterator[FormEvent]:
    async for chunk in request.stream():
        yield chunk
    yield PartEnd()


def _part_chunks(events: AsyncIterator[FormEvent]) -> Iterator[bytes]:
    """The file part's bytes as a sync iterator for a worker thread (one chunk in memory at a time)."""

    async def next_event() -> FormEvent | None:
        try:
            return await events.__anext__()
        except StopAsyncIteration:
            return None

    while True:
        event = from_thread.run(next_event)
        if event is None:
            raise InvalidParameterError("the multipart body ended inside the 'file' part")
        if isinstance(event, PartEnd):
            return
        if isinstance(event, bytes):
            yield event


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
