"""Sampling decoded frames and running the model on them with a bounded number of calls in flight.

Shared by the live analyzers (per fragment) and the stored-video job (per file). Back-pressure: at most
`max_in_flight` model calls of one stream are pending; when all are busy a sampled frame either waits
for the oldest call (`drop=False`, catch-up: nothing is skipped, lag grows) or is dropped and counted
(`drop=True`, live: the records keep the model's pace and the lag stays bounded). Only the pending
frames' pixels are held, so memory is bounded by max_in_flight frames whatever the model's speed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import numpy as np

from videolens.media.frame_source import Skip, SourceFrame
from videolens.runtime import metrics
from videolens.services.analyzers.models import Sampling
from videolens.services.errors import VideolensError
from videolens.services.models.models import ModelAnswer, ModelInput
from videolens.services.models.service import ModelsService
from videolens.vision.detections import Detections
from videolens.vision.sampler import EveryInterval, EveryN, KeyFrames
from videolens.vision.sampler import Sampler as FrameSampler

#: a model's answer is not a face track: the samplers are told "nothing tracked" after each take
NO_DETECTIONS = Detections.empty()


@dataclass
class _StreamFrame:
    """A frame as the pipeline's samplers see it, numbered and timed along the whole stream."""

    index: int
    time: float
    frame: SourceFrame

    def luma_thumbnail(self, step: int = 16) -> np.ndarray:
        return self.frame.luma_thumbnail(step)


class Sampler:
    """Which frames go to the model: one of the pipeline's samplers (vision/sampler.py), its state
    spanning fragments (every Nth and every 1/fps s count across them, on the stream's own times)."""

    def __init__(self, sampling: Sampling) -> None:
        self.sampling = sampling
        self.seen = 0
        self._inner: FrameSampler
        if sampling.key_frames:
            self._inner = KeyFrames()
        elif sampling.every_n_frames:
            self._inner = EveryN(sampling.every_n_frames)
        else:
            assert sampling.fps is not None
            self._inner = EveryInterval(1.0 / sampling.fps)

    @property
    def skip(self) -> Skip:
        """The decoder's skip mode: key-frame sampling never decodes other frames."""
        return "nonkey" if self.sampling.key_frames else "none"

    def take(self, frame: SourceFrame, ts: float) -> bool:
        view = _StreamFrame(self.seen, ts, frame)
        self.seen += 1
        if not self._inner.wants(view, key=frame.key):
            return False
        self._inner.observed(view, NO_DETECTIONS, {})
        return True


@dataclass(frozen=True)
class FrameResult:
    index: int
    offset_s: float
    key: bool
    answer: ModelAnswer | None
    #: the error code (model-timeout, model-error, ...) and message when the call failed
    error: tuple[str, str] | None = None


@dataclass
class Pending:
    index: int
    offset_s: float
    key: bool
    future: Future[ModelAnswer]
    deadline: float


class FrameAnalysis:
    """One stream's calls: feed frames, get results in frame order; counts what it skipped."""

    def __init__(
        self,
        models: ModelsService,
        model: str,
        *,
        max_in_flight: int,
        timeout_s: float,
        drop: bool,
        analyzer: str,
    ) -> None:
        self.models = models
        self.model = model
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        self.drop = drop
        self.analyzer = analyzer
        self.skipped = 0

    def run(self, frames: Iterable[tuple[SourceFrame, float]], sampler: Sampler) -> Iterator[FrameResult]:
        """(frame, absolute time) in; FrameResult per analysed frame out, in order."""
        pending: deque[Pending] = deque()
        try:
            for frame, ts in frames:
                if not sampler.take(frame, ts):
                    frame.release()
                    continue
                while pending and pending[0].future.done():
                    yield self._finish(pending.popleft())
                if len(pending) >= self.max_in_flight:
                    if self.drop:
                        self.skipped += 1
                        frame.release()
                        continue
                    yield self._finish(pending.popleft())
                inp = ModelInput.from_frame(frame.rgb())
                frame.release()
                pending.append(
                    Pending(
                        frame.index,
                        frame.time,
                        frame.key,
                        self._submit(inp),
                        time.monotonic() + self.timeout_s,
                    )
                )
            while pending:
                yield self._finish(pending.popleft())
        finally:
            for p in pending:
                p.future.cancel()

    def _submit(self, inp: ModelInput) -> Future[ModelAnswer]:
        started = time.perf_counter()
        future = self.models.submit(self.model, inp)
        histogram = metrics.ANALYZER_MODEL_LATENCY.labels(self.analyzer)

        def observe(f: Future[ModelAnswer]) -> None:
            if not f.cancelled() and f.exception() is None:
                histogram.observe(time.perf_counter() - started)

        future.add_done_callback(observe)
        return future

    def _finish(self, p: Pending) -> FrameResult:
        try:
            answer = p.future.result(timeout=max(0.0, p.deadline - time.monotonic()))
        except FutureTimeout:
            p.future.cancel()
            return FrameResult(
                p.index, p.offset_s, p.key, None, ("timeout", f"no answer within {self.timeout_s:g} s")
            )
        except VideolensError as exc:
            return FrameResult(p.index, p.offset_s, p.key, None, (exc.code, str(exc)))
        return FrameResult(p.index, p.offset_s, p.key, answer)
