"""The `anonymize` job type: anonymize a bucket object (anonymize service), store the result as an object.

Registered by the composition root (`videolens/container.py`):
`container.jobs.types.register(AnonymizeJob(...))`.
"""

from __future__ import annotations

import mimetypes
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videolens.services.anonymize.collection_matcher import CollectionMatcher
from videolens.services.anonymize.options import (
    AnonymizeOptions,
    default_output,
    parse_color,
    parse_detect_every,
)
from videolens.services.errors import ConflictError, InvalidParameterError, NotFoundError
from videolens.services.faces.service import FacesService
from videolens.services.jobs.models import JOB_METADATA_KEY, Job, JobStopped
from videolens.services.jobs.registry import JobOutcome, JobRun
from videolens.services.storage.models import ObjectInfo
from videolens.services.storage.service import StorageService

if TYPE_CHECKING:  # the service module imports this one (AnonymizeJobs)
    from videolens.services.anonymize.service import AnonymizeService

#: anonymize parameters a job accepts (the AnonymizeOptions fields a user sets)
OPTION_FIELDS = (
    "mode",
    "shape",
    "mask_scale",
    "mosaic_size",
    "threshold",
    "detect_every",
    "detect_max_side",
    "spare_collection",
    "spare_threshold",
    "codec",
    "crf",
    "preset",
    "color",
)
#: `boxes_json`: also store the per-frame boxes and track ids as an object beside the result
PARAM_FIELDS = (*OPTION_FIELDS, "output_bucket", "output_key", "boxes_json")
BOXES_SUFFIX = ".boxes.json"


def anonymize_options(params: dict[str, Any]) -> AnonymizeOptions:
    unknown = set(params) - set(PARAM_FIELDS)
    if unknown:
        raise InvalidParameterError(f"unknown anonymize parameters: {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {k: params[k] for k in OPTION_FIELDS if params.get(k) is not None}
    if "detect_every" in kwargs:
        kwargs["detect_every"] = parse_detect_every(kwargs["detect_every"])
    if "color" in kwargs:
        kwargs["color"] = parse_color(str(kwargs["color"]))
    try:
        return AnonymizeOptions(**kwargs)
    except TypeError as exc:
        raise InvalidParameterError(f"invalid anonymize parameters: {exc}") from exc


def check_anonymize_params(params: dict[str, Any]) -> None:
    anonymize_options(params)
    for name in ("output_bucket", "output_key"):
        if params.get(name) is not None and (not isinstance(params[name], str) or not params[name]):
            raise InvalidParameterError(f"{name} must be a non-empty string")
    if params.get("boxes_json") is not None and not isinstance(params["boxes_json"], bool):
        raise InvalidParameterError("boxes_json must be true or false")


def output_location(bucket: str, key: str, params: dict[str, Any]) -> tuple[str, str]:
    """Default: next to the input, named like deface does (`clip.mp4` → `clip_anonymized.mp4`)."""
    out_bucket = str(params.get("output_bucket") or bucket)
    out_key = params.get("output_key")
    if not out_key:
        head, sep, name = key.rpartition("/")
        out_key = f"{head}{sep}{default_output(Path(name)).name}"
    return out_bucket, str(out_key)


def boxes_key(out_key: str) -> str:
    """`clip_anonymized.mp4` → `clip_anonymized.boxes.json` (beside the result)."""
    head, sep, name = out_key.rpartition("/")
    return f"{head}{sep}{Path(name).stem}{BOXES_SUFFIX}"


class AnonymizeJob:
    """Anonymize a stored video or image; the result (and optionally its boxes) lands beside it."""

    name = "anonymize"
    api_name = "StartAnonymization"

    def __init__(self, service: AnonymizeService, storage: StorageService, faces: FacesService) -> None:
        #: the container's one anonymize service (its models load once per process)
        self.service = service
        self.storage = storage
        self.faces = faces

    def check_params(self, params: dict[str, Any]) -> None:
        check_anonymize_params(params)
        if params.get("spare_collection"):
            self.faces.describe_collection(str(params["spare_collection"]))  # NotFoundError when missing

    def run(self, run: JobRun) -> JobOutcome:
        job = run.job
        output = run_anonymize(
            self.service,
            self.storage,
            self.faces,
            job.job_id,
            job.bucket,
            job.key,
            job.params,
            run.work_dir,
            run.progress,
            run.should_stop,
        )
        return JobOutcome(output=output)


def run_anonymize(
    service: AnonymizeService,
    storage: StorageService,
    faces: FacesService,
    job_id: str,
    bucket: str,
    key: str,
    params: dict[str, Any],
    work_dir: Path,
    progress: Callable[[float], None],
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Run one attempt; raises `JobStopped` within a frame of `should_stop()` turning true."""
    options = anonymize_options({k: v for k, v in params.items() if k in PARAM_FIELDS})
    matcher = CollectionMatcher(faces, options.spare_collection) if options.spare_collection else None
    out_bucket, out_key = output_location(bucket, key, params)
    work_dir.mkdir(parents=True, exist_ok=True)

    def on_progress(done: int, total: int | None) -> None:
        # the service has no stop hook of its own: raising here unwinds the transcode (and its temp files)
        if should_stop():
            raise JobStopped("the job was stopped")
        if total:
            progress(min(95.0, 95.0 * done / total))

    if should_stop():
        raise JobStopped("the job was stopped")
    marker = {JOB_METADATA_KEY: job_id}
    with storage.open_object_path(bucket, key) as src, tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        dst = Path(tmp) / Path(key).name
        if dst.suffix == "":
            dst = dst.with_suffix(".mp4")
        boxes_path = Path(tmp) / "boxes.json" if params.get("boxes_json") else None
        result = service.anonymize_file(
            src, dst, options, matcher=matcher, boxes_json=boxes_path, progress=on_progress
        )
        if should_stop():  # cancelled during the last frames: write nothing
            raise JobStopped("the job was stopped")
        # the output keeps the input's container / image format (a .png stays a PNG, an .avi an AVI)
        fallback = "video/mp4" if result.kind == "video" else "application/octet-stream"
        content_type = mimetypes.guess_type(dst.name)[0] or fallback
        info = storage.put_object(
            out_bucket, out_key, _chunks(dst), content_type=content_type, metadata=marker
        )
        out_boxes = None
        if boxes_path is not None:
            out_boxes = boxes_key(out_key)
            storage.put_object(
                out_bucket, out_boxes, _chunks(boxes_path), content_type="application/json", metadata=marker
            )
    return {
        "bucket": out_bucket,
        "key": out_key,
        "size": int(info.size),
        "boxes_key": out_boxes,
        "kind": result.kind,
        "frames": result.frames,
        "faces": result.faces,
        "spared": result.spared,
        "fps": round(result.fps, 1),
        "warning": result.warning,
    }


def open_output(
    storage: StorageService, job: Job, which: str = "result"
) -> tuple[ObjectInfo, Iterator[bytes]]:
    """(object info, bytes) of a finished anonymize job's result or boxes JSON (`which="boxes"`)."""
    if job.job_type != AnonymizeJob.name:
        raise NotFoundError(f"job {job.job_id} is not an anonymization job")
    if job.status != "SUCCEEDED" or not job.output:
        raise ConflictError(f"job {job.job_id} has no result (status {job.status})")
    key = job.output["key"] if which == "result" else job.output.get("boxes_key")
    if not key:
        raise NotFoundError(f"job {job.job_id} was not asked for boxes (boxes_json)")
    info, chunks = storage.open_object(job.output["bucket"], key)
    return info, chunks


def _chunks(path: Path, size: int = 1024 * 1024) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk
