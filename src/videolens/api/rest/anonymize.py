"""Native REST routes of anonymization: submit a job (upload or bucket object), poll it, download it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel

from videolens.api.deps import ContainerDep
from videolens.runtime.container import Container
from videolens.services.anonymize.collection_matcher import CollectionMatcher
from videolens.services.anonymize.jobs import AnonymizeJob, AnonymizeJobs
from videolens.services.anonymize.options import AnonymizeOptions, parse_color, parse_detect_every
from videolens.services.anonymize.service import AnonymizeService
from videolens.services.errors import InvalidParameterError, PayloadTooLargeError

router = APIRouter(prefix="/v1/anonymize", tags=["anonymize"])
_EXTRA_KEY = "anonymize_jobs"
_lock = threading.Lock()


def jobs_of(container: Container) -> AnonymizeJobs:
    """The container's job registry, created on first use (and stopped with the container)."""
    with _lock:
        jobs = container.extras.get(_EXTRA_KEY)
        if jobs is None:
            service = AnonymizeService(embedder_factory=lambda: container.models.embedder)
            jobs = AnonymizeJobs(
                service,
                container.settings.data_dir / "anonymize",
                matcher_for=lambda collection: CollectionMatcher(container.faces, collection),
                workers=max(1, container.settings.job_workers),
            )
            container.extras[_EXTRA_KEY] = jobs
            container.background.append(jobs)
        return jobs


class JobOut(BaseModel):
    job_id: str
    status: str
    input: str
    progress: float
    frames_done: int
    frames_total: int | None
    faces: int
    spared: int
    fps: float | None
    warning: str | None
    error: str | None
    error_code: str | None
    created_at: datetime
    finished_at: datetime | None
    result_url: str | None
    boxes_url: str | None

    @classmethod
    def of(cls, job: AnonymizeJob) -> JobOut:
        done = job.status == "SUCCEEDED"
        base = f"/v1/anonymize/jobs/{job.job_id}"
        return cls(
            job_id=job.job_id,
            status=job.status,
            input=job.input_name,
            progress=job.progress,
            frames_done=job.frames_done,
            frames_total=job.frames_total,
            faces=job.faces,
            spared=job.spared,
            fps=job.fps,
            warning=job.warning,
            error=job.error,
            error_code=job.error_code,
            created_at=job.created_at,
            finished_at=job.finished_at,
            result_url=f"{base}/result" if done else None,
            boxes_url=f"{base}/boxes" if done and job.has_boxes else None,
        )


class JobList(BaseModel):
    jobs: list[JobOut]


def _save_upload(upload: UploadFile, directory: Path, max_bytes: int) -> Path:
    """Stream the upload to disk (videos do not fit in memory), enforcing the size limit."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.filename or "").suffix.lower()
    path = directory / f"{uuid.uuid4()}{suffix}"
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                path.unlink(missing_ok=True)
                raise PayloadTooLargeError(f"the upload exceeds the limit of {max_bytes} bytes")
            out.write(chunk)
    return path


@contextmanager
def _owned_file(path: Path) -> Iterator[Path]:
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@router.post("/jobs", status_code=202, response_model=JobOut)
async def create_job(
    container: ContainerDep,
    file: Annotated[UploadFile | None, Form(description="the video or image to anonymize")] = None,
    bucket: Annotated[str | None, Form(description="or: a bucket holding the input")] = None,
    key: Annotated[str | None, Form(description="the input's object key in that bucket")] = None,
    mode: Annotated[str, Form()] = "pixelate",
    shape: Annotated[str, Form()] = "ellipse",
    mask_scale: Annotated[float, Form()] = 1.3,
    mosaic_size: Annotated[int, Form()] = 10,
    color: Annotated[str, Form()] = "#000000",
    threshold: Annotated[float, Form()] = 0.2,
    detect_every: Annotated[str, Form()] = "auto",
    detect_size: Annotated[int, Form()] = 960,
    spare_collection: Annotated[str | None, Form()] = None,
    spare_threshold: Annotated[float, Form()] = 80.0,
    codec: Annotated[str | None, Form()] = None,
    crf: Annotated[int, Form()] = 20,
    preset: Annotated[str, Form()] = "veryfast",
    boxes: Annotated[bool, Form(description="also record per-frame boxes and track ids")] = False,
) -> JobOut:
    """Start anonymizing an uploaded file (`file`) or a stored object (`bucket` + `key`)."""
    if (file is None) == (bucket is None or key is None):
        raise InvalidParameterError("give either a 'file' upload or both 'bucket' and 'key'")
    options = AnonymizeOptions(
        mode=mode,  # type: ignore[arg-type]
        shape=shape,  # type: ignore[arg-type]
        mask_scale=mask_scale,
        mosaic_size=mosaic_size,
        color=parse_color(color),
        threshold=threshold,
        detect_every=parse_detect_every(detect_every),
        detect_max_side=detect_size,
        spare_collection=spare_collection or None,
        spare_threshold=spare_threshold,
        codec=codec or None,
        crf=crf,
        preset=preset,
    )
    jobs = jobs_of(container)
    source: AbstractContextManager[Path]
    saved: Path | None = None
    if file is not None:
        saved = await run_in_threadpool(
            _save_upload, file, jobs.work_dir / "uploads", container.settings.max_upload_bytes
        )
        name = file.filename or saved.name
        source = _owned_file(saved)
    else:
        assert bucket is not None and key is not None
        container.storage.head_object(bucket, key)  # a missing object fails now, not in the job
        name = key
        source = container.storage.open_object_path(bucket, key)
    try:
        job = jobs.submit(lambda: source, Path(name).name, options, boxes=boxes)
    except Exception:
        if saved is not None:
            saved.unlink(missing_ok=True)
        raise
    return JobOut.of(job)


@router.get("/jobs", response_model=JobList)
def list_jobs(container: ContainerDep) -> JobList:
    return JobList(jobs=[JobOut.of(j) for j in jobs_of(container).list()])


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(container: ContainerDep, job_id: str) -> JobOut:
    return JobOut.of(jobs_of(container).get(job_id))


@router.get("/jobs/{job_id}/result", response_class=FileResponse)
def get_result(container: ContainerDep, job_id: str) -> FileResponse:
    jobs = jobs_of(container)
    job = jobs.get(job_id)
    path = jobs.result_path(job_id)
    stem = Path(job.input_name).stem
    return FileResponse(path, filename=f"{stem}_anonymized{path.suffix}")


@router.get("/jobs/{job_id}/boxes", response_class=FileResponse)
def get_boxes(container: ContainerDep, job_id: str) -> FileResponse:
    return FileResponse(jobs_of(container).boxes_path(job_id), media_type="application/json")


@router.delete("/jobs/{job_id}", status_code=204)
def delete_job(container: ContainerDep, job_id: str) -> Response:
    jobs_of(container).delete(job_id)
    return Response(status_code=204)
