"""The analyzer processor kind: one session per (analyzer, stream) unit, run by the live engine.

Per fragment (the engine hands them over one at a time, in order, under the unit's lease): decode,
sample, run the model with bounded calls in flight (frames.py), publish one KIT record per analysed
frame (kit_records.py), then return — the engine checkpoints the fragment only after that, so a worker
that dies mid-fragment leaves it to its successor (at-least-once; duplicates carry the same
fragment number and frame index). A frame whose call failed or timed out gets no record; it is counted
as an error (per stream, and in `videolens_analyzer_errors_total` by reason).
"""

from __future__ import annotations

import io
import logging
import os
import socket
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from videolens.media.errors import MediaError
from videolens.media.frame_source import FrameSource, SourceFrame
from videolens.runtime import metrics
from videolens.services.analyzers.frames import FrameAnalysis, Sampler
from videolens.services.analyzers.kit_records import kit_record
from videolens.services.analyzers.models import AnalyzerSpec
from videolens.services.live.models import ProcessorInfo
from videolens.services.live.registry import Publish
from videolens.services.models.service import ModelsService
from videolens.services.streams.models import FragmentInfo

if TYPE_CHECKING:
    from videolens.services.analyzers.units import AnalyzerUnits

log = logging.getLogger(__name__)
#: the `worker` label of videolens_analyzer_leases_held
WORKER = f"{socket.gethostname()}:{os.getpid()}"


class AnalyzerKind:
    name = "analyzer"
    settings_key = "Analyzer"

    def __init__(self, models: ModelsService, units: AnalyzerUnits) -> None:
        self.models = models
        self.units = units

    def check(self, definition: dict[str, Any]) -> None:
        AnalyzerSpec.model_validate(definition["Analyzer"])

    def open(self, processor: ProcessorInfo, publish: Publish) -> AnalyzerSession:
        return AnalyzerSession(self, processor, publish)


class AnalyzerSession:
    def __init__(self, kind: AnalyzerKind, unit: ProcessorInfo, publish: Publish) -> None:
        self.kind = kind
        self.unit = unit
        self.publish = publish
        self.spec = AnalyzerSpec.model_validate(unit.definition["Analyzer"])
        self.stream = str(unit.definition["Stream"])
        self.session = unit.session_id or ""
        self.sampler = Sampler(self.spec.sampling)
        self.labels = (self.spec.name, self.stream)
        metrics.ANALYZER_LEASES_HELD.labels(WORKER).inc()
        # the stream's series exist from the start (at 0), so a rate() over them is never "no data"
        for counter in (
            metrics.ANALYZER_FRAGMENTS,
            metrics.ANALYZER_FRAMES,
            metrics.ANALYZER_FRAMES_SKIPPED,
            metrics.ANALYZER_RECORDS,
        ):
            counter.labels(*self.labels)
        self._closed = False

    def process(self, fragment: FragmentInfo, data: bytes) -> int:
        spec = self.spec
        analysis = FrameAnalysis(
            self.kind.models,
            spec.model,
            max_in_flight=spec.max_in_flight,
            timeout_s=spec.timeout_ms / 1000.0,
            drop=spec.lag_policy == "live",
            analyzer=spec.name,
        )
        records: list[bytes] = []
        errors: dict[str, int] = {}
        last_error: str | None = None
        decode_error: str | None = None
        try:
            with FrameSource(io.BytesIO(data), skip=self.sampler.skip, name=fragment.fragment_number) as src:
                for result in analysis.run(self._frames(src, fragment), self.sampler):
                    if result.answer is None:
                        assert result.error is not None
                        errors[result.error[0]] = errors.get(result.error[0], 0) + 1
                        last_error = f"{result.error[0]}: {result.error[1]}"
                        continue
                    records.append(
                        kit_record(
                            analyzer=spec.name,
                            model=spec.model,
                            stream=self.stream,
                            fragment=fragment,
                            frame_index=result.index,
                            offset_s=result.offset_s,
                            key_frame=result.key,
                            answer=result.answer,
                        )
                    )
                decode_error = src.error
        except MediaError as exc:  # a damaged fragment: what decoded before the damage was analysed
            decode_error = str(exc)
        if decode_error:
            errors["decode"] = errors.get("decode", 0) + 1
            last_error = f"decode: {decode_error}"
        self.publish(records)
        done = time.time()
        lag_s = max(0.0, done - fragment.server_ts)
        stream_labels = self.labels
        metrics.ANALYZER_PUBLISH_LATENCY.labels(spec.name).observe(lag_s)
        metrics.ANALYZER_FRAGMENTS.labels(*stream_labels).inc()
        metrics.ANALYZER_FRAMES.labels(*stream_labels).inc(len(records))
        metrics.ANALYZER_RECORDS.labels(*stream_labels).inc(len(records))
        if analysis.skipped:
            metrics.ANALYZER_FRAMES_SKIPPED.labels(*stream_labels).inc(analysis.skipped)
        for reason, count in errors.items():
            metrics.ANALYZER_ERRORS.labels(*stream_labels, reason).inc(count)
        metrics.ANALYZER_LAG.labels(*stream_labels).set(lag_s)
        self.kind.units.stage_frames(
            self.unit.name,
            self.session,
            analysed=len(records),
            skipped=analysis.skipped,
            errors=sum(errors.values()),
            lag_ms=round(lag_s * 1000, 1),
            fragment=fragment.fragment_number,
            last_error=last_error,
        )
        return len(records)

    @staticmethod
    def _frames(src: FrameSource, fragment: FragmentInfo) -> Iterator[tuple[SourceFrame, float]]:
        for frame in src:
            yield frame, fragment.producer_ts + frame.time

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            metrics.ANALYZER_LEASES_HELD.labels(WORKER).dec()
