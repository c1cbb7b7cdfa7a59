"""The `model-analysis` job type: a registered model on a stored video (bucket object in, JSON out).

Params: `model` (required), `sampling` (as an analyzer's; default `{"fps": 1.0}`), `max_in_flight`
(default 8), `timeout_ms`, and where the answers go besides the job's results (one entry per analysed
frame, paged by GET /v1/jobs/{id}/results): `output: {"bucket", "key"}` writes them as JSON lines,
`output: {"data_stream": name}` publishes them as records. Same sampling and bounded in-flight calls
as the live analyzers (frames.py), so one model serves live and archived video alike.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videolens.media.errors import MediaError
from videolens.media.frame_source import FrameSource
from videolens.services.analyzers.frames import FrameAnalysis, Sampler
from videolens.services.analyzers.models import Sampling
from videolens.services.datastreams.models import PutRecordInput
from videolens.services.datastreams.service import DataStreamsService
from videolens.services.errors import InvalidMediaError, InvalidParameterError
from videolens.services.jobs.models import JobStopped, ResultEntry
from videolens.services.jobs.registry import JobOutcome, JobRun
from videolens.services.models.service import ModelsService
from videolens.services.storage.service import StorageService

PUT_BATCH = 500


class JobOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_stream: str | None = Field(default=None, min_length=1, max_length=128)
    bucket: str | None = Field(default=None, min_length=1, max_length=255)
    key: str | None = Field(default=None, min_length=1, max_length=1024)


class ModelJobParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=63)
    sampling: Sampling = Field(default_factory=lambda: Sampling(fps=1.0))
    max_in_flight: int = Field(default=8, ge=1, le=1000)
    timeout_ms: int = Field(default=20_000, ge=10, le=600_000)
    output: JobOutput | None = None


def _params(doc: dict[str, Any]) -> ModelJobParams:
    try:
        params = ModelJobParams.model_validate(doc)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        raise InvalidParameterError("invalid model-analysis params: " + "; ".join(parts)) from exc
    out = params.output
    if out is not None and (out.data_stream is None) == (out.bucket is None or out.key is None):
        raise InvalidParameterError("output is either {data_stream} or {bucket, key}")
    return params


class ModelAnalysisJob:
    name = "model-analysis"
    api_name = "StartModelAnalysis"

    def __init__(
        self, storage: StorageService, models: ModelsService, datastreams: DataStreamsService
    ) -> None:
        self.storage = storage
        self.models = models
        self.datastreams = datastreams

    def check_params(self, params: dict[str, Any]) -> None:
        p = _params(params)
        self.models.get(p.model)
        if p.output is not None and p.output.data_stream is not None:
            self.datastreams.describe_stream_summary(name=p.output.data_stream)
        if p.output is not None and p.output.bucket is not None:
            self.storage.head_bucket(p.output.bucket)

    def run(self, run: JobRun) -> JobOutcome:
        p = _params(run.job.params)
        job = run.job
        analysis = FrameAnalysis(
            self.models,
            p.model,
            max_in_flight=p.max_in_flight,
            timeout_s=p.timeout_ms / 1000.0,
            drop=False,
            analyzer=f"job:{p.model}",
        )
        sampler = Sampler(p.sampling)
        entries: list[ResultEntry] = []
        errors = 0
        try:
            with (
                self.storage.open_object_path(job.bucket, job.key) as path,
                FrameSource(path, skip=sampler.skip, name=job.key) as src,
            ):
                total = src.info.frame_count or 0

                def frames() -> Any:
                    for frame in src:
                        if run.should_stop():
                            raise JobStopped()
                        if total:
                            run.progress(min(99.0, 100.0 * frame.index / total))
                        yield frame, frame.time

                for r in analysis.run(frames(), sampler):
                    if r.answer is None:
                        errors += 1
                        continue
                    doc = {
                        "source": f"s3://{job.bucket}/{job.key}",
                        "model": p.model,
                        "frameIndex": r.index,
                        "timestampMillis": round(r.offset_s * 1000),
                        "keyFrame": r.key,
                        "contentType": r.answer.content_type,
                        "sageMakerOutput": base64.b64encode(r.answer.body).decode(),
                        "output": r.answer.json,
                    }
                    entries.append(ResultEntry(round(r.offset_s * 1000), None, doc))
        except MediaError as exc:
            raise InvalidMediaError(str(exc)) from exc
        summary: dict[str, Any] = {"frames_analysed": len(entries), "errors": errors, "model": p.model}
        if p.output is not None:
            summary["output"] = self._write(p.output, job.job_id, [e.doc for e in entries])
        return JobOutcome(entries, None, summary)

    def _write(self, out: JobOutput, job_id: str, docs: list[dict[str, Any]]) -> str:
        lines = [json.dumps(d, separators=(",", ":")).encode() for d in docs]
        if out.bucket is not None and out.key is not None:
            body = b"".join(line + b"\n" for line in lines)
            self.storage.put_object_bytes(out.bucket, out.key, body, "application/x-ndjson")
            return f"s3://{out.bucket}/{out.key}"
        assert out.data_stream is not None
        pending = [PutRecordInput(line, job_id) for line in lines]
        delay = 0.05
        while pending:
            batch, rest = pending[:PUT_BATCH], pending[PUT_BATCH:]
            results = self.datastreams.put_records(batch, name=out.data_stream)
            failed = [rec for rec, res in zip(batch, results, strict=True) if res.error_code]
            pending = failed + rest
            if failed:  # a shard over its write limit: back off and retry only those
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        return out.data_stream
