"""The one video-analysis pipeline: frame source → sampler → detector → tracker → sinks.

Every video consumer is a configuration of `FaceTrackPipeline` (see docs/architecture.md): face
detection and face search jobs sample adaptively on a source that skips non-reference frames and
report per time step; anonymization looks ahead on every decoded frame and redacts; the recall check
runs the same stages with a detector look on every frame.

Guarantees:
- the tracker runs on the frames' own times (microsecond ticks), so hold, back-fill and interpolation
  are the same at any frame rate, variable or not, and when the source skipped frames;
- with `lookahead`, a frame is released only once a detection has run `backfill_s` after it, so its
  boxes are final (a face first found at t is also covered on the frames just before t);
- memory is bounded: the look-ahead buffer holds at most `backfill_s` plus one sampling gap of frames,
  and the tracker forgets what cannot produce a box any more;
- with `full_look_s` (anonymization), a look between two whole-picture looks may be a partial one
  (crops around the live tracks, or the picture shrunk to what the smallest tracked face allows); it
  must find again every face the last look found, and a face that appears is found by a whole look
  at most `full_look_s` later.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from videolens.services.video_analysis.partial_looks import partial_look
from videolens.vision.detections import Detections
from videolens.vision.detector import FaceDetector
from videolens.vision.sampler import Box, Sampler
from videolens.vision.tracker import FaceTracker
from videolens.vision.types import Detection

TICKS_PER_S = 1_000_000


class AnalysisFrame(Protocol):
    """A decoded frame as the pipeline reads it (media.frame_source.SourceFrame, transcoder frames)."""

    index: int
    time: float
    key: bool

    def rgb(self, width: int | None = None, height: int | None = None) -> np.ndarray: ...

    def luma_thumbnail(self, step: int = 16) -> np.ndarray: ...


def tick(time_s: float) -> int:
    return round(time_s * TICKS_PER_S)


#: called on every frame the detector looked at, with the tracked detections of that frame
DetectionHook = Callable[[AnalysisFrame, Detections], None]


@dataclass(frozen=True)
class TrackingConfig:
    #: a track keeps moving on its velocity this long after its last detection, then ends
    hold_s: float = 0.5
    #: a track is extended backwards this long before its first detection (look-ahead pipelines)
    backfill_s: float = 0.3


@dataclass
class StageTimes:
    """Wall seconds spent per stage in the pipeline thread (decode runs in its own thread)."""

    convert: float = 0.0
    detect: float = 0.0
    track: float = 0.0
    frames: int = 0
    detections_run: int = 0
    crop_looks: int = 0  # of detections_run: looks at crops around the tracks only
    reduced_looks: int = 0  # of detections_run: looks at the whole picture shrunk

    def per_frame_ms(self) -> dict[str, float]:
        n = max(self.frames, 1)
        return {
            "convert": 1000 * self.convert / n,
            "detect": 1000 * self.detect / n,
            "track": 1000 * self.track / n,
        }


@dataclass(frozen=True)
class Released:
    frame: AnalysisFrame
    faces: Detections  # the boxes of every track on this frame (final when the pipeline looks ahead)
    #: per face, the detection ticks its box was derived from (one or two; for per-look decisions)
    sources: tuple[tuple[int, ...], ...] = ()


class FaceTrackPipeline:
    """Sampler, detector and tracker over frames pushed in presentation order."""

    def __init__(
        self,
        detector: FaceDetector,
        sampler: Sampler,
        frame_size: tuple[int, int],
        *,
        tracking: TrackingConfig | None = None,
        threshold: float | None = None,
        lookahead: bool = False,
        full_look_s: float | None = None,
        squeeze_input: bool = False,
        hooks: Iterable[DetectionHook] = (),
    ) -> None:
        import time as _time

        self._clock = _time.perf_counter
        self.detector = detector
        self.sampler = sampler
        self.frame_size = frame_size
        self.threshold = threshold
        self.lookahead = lookahead
        #: with it, a look may cover only the live tracks (`_partial_look`) as long as a look
        #: at the whole picture ran at most this long before (which finds the faces that appear)
        self.full_look = tick(full_look_s) if full_look_s is not None else None
        self.last_full = -1
        self.hooks = list(hooks)
        self.tracking = tracking or TrackingConfig()
        self.backfill = tick(self.tracking.backfill_s) if lookahead else 0
        self.tracker = FaceTracker(
            hold_frames=tick(self.tracking.hold_s), backfill_frames=self.backfill, frame_size=frame_size
        )
        size = detector.video_input_size if squeeze_input else detector.input_size
        self.input_size = size(*frame_size)
        self.buffer: deque[AnalysisFrame] = deque()
        self.last_detect = -1
        self.times = StageTimes()
        #: every track id that ever had a box on a released frame
        self.tracks_seen: set[int] = set()

    # ---------------------------------------------------------------------------------------------
    def push(self, frame: AnalysisFrame) -> list[Released]:
        self.times.frames += 1
        if self.sampler.wants(frame, frame.key):
            self._detect(frame)
        if not self.lookahead:
            return self._release_all([frame])
        self.buffer.append(frame)
        return self._release(self.last_detect - self.backfill)

    def flush(self) -> list[Released]:
        if self.lookahead and self.buffer and tick(self.buffer[-1].time) > self.last_detect:
            # a final look at the last frame gives the frames after the previous one their end point
            self._detect(self.buffer[-1])
        out = self._release(None)
        return out

    # ---------------------------------------------------------------------------------------------
    def _detect(self, frame: AnalysisFrame) -> None:
        t0 = self._clock()
        rgb = frame.rgb(*self.input_size)
        t1 = self._clock()
        now = tick(frame.time)
        found = None
        # a partial look only when the next look (as far ahead as this one came) is still within
        # `full_look` of the last whole one: faces that appear are found at most that late
        since_full = now - self.last_full + (now - self.last_detect)
        if self.full_look is not None and not self.sampler.scene_cut and since_full <= self.full_look:
            found = self._partial_look(rgb, now)
        if found is None:
            found = self.detector.detect_rgb(rgb, self.frame_size, self.threshold)
            self.last_full = now
        t2 = self._clock()
        if self.sampler.scene_cut:
            self.tracker.end_tracks()
        predicted: dict[int, Box] = {
            t.track_id: t.predict(now) for t in self.tracker.tracks.values() if t.alive
        }
        matches = self.tracker.update(now, found)
        tracked = Detections.from_list([d for _, d in matches], [tid for tid, _ in matches])
        self.sampler.observed(frame, tracked, predicted)
        self.last_detect = now
        self.times.detections_run += 1
        for hook in self.hooks:
            hook(frame, tracked)
        t3 = self._clock()
        self.times.convert += t1 - t0
        self.times.detect += t2 - t1
        self.times.track += t3 - t2

    def _partial_look(self, rgb: np.ndarray, now: int) -> list[Detection] | None:
        """The live tracks' faces by a partial look (services/video_analysis/partial_looks.py), or
        None when a whole look must run."""
        live = [
            t for t in self.tracker.tracks.values() if t.alive and now - t.last <= self.tracker.hold_frames
        ]
        look = partial_look(self.detector, rgb, self.frame_size, self.threshold, live, now, self.last_detect)
        if look is None:
            return None
        if look.kind == "crop":
            self.times.crop_looks += 1
        else:
            self.times.reduced_looks += 1
        return look.found

    def _release(self, upto: int | None) -> list[Released]:
        out: list[AnalysisFrame] = []
        while self.buffer and (upto is None or tick(self.buffer[0].time) <= upto):
            out.append(self.buffer.popleft())
        return self._release_all(out)

    def _release_all(self, frames: list[AnalysisFrame]) -> list[Released]:
        if not frames:
            return []
        t0 = self._clock()
        released = [self._released(f) for f in frames]
        for r in released:
            self.tracks_seen.update(int(t) for t in r.faces.track_id)
        cut = tick(frames[-1].time) + 1
        self.tracker.forget_before(cut)
        self.times.track += self._clock() - t0
        return released

    def _released(self, frame: AnalysisFrame) -> Released:
        boxes = self.tracker.boxes_at(tick(frame.time))
        if not boxes:
            return Released(frame, Detections.empty())
        faces = Detections(
            xyxy=np.array([b.box for b in boxes], dtype=np.float32),
            score=np.array([b.score for b in boxes], dtype=np.float32),
            track_id=np.array([b.track_id for b in boxes], dtype=np.int64),
            detected=np.array([b.detected for b in boxes], dtype=bool),
        )
        return Released(frame, faces, tuple(b.sources for b in boxes))


class Stopped(Exception):
    """`should_stop` turned true while the pipeline ran (a cancelled job, a lost lease)."""


def run(
    frames: Iterable[AnalysisFrame],
    pipeline: FaceTrackPipeline,
    on_released: Callable[[Released], None] | None = None,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 16,
) -> int:
    """Drive `pipeline` over `frames` (a FrameSource decodes ahead in its own thread); returns frames."""
    n = 0
    for frame in frames:
        if should_stop():
            raise Stopped("the analysis was stopped")
        for r in pipeline.push(frame):
            if on_released is not None:
                on_released(r)
        n += 1
        if progress is not None and n % progress_every == 0:
            progress(n)
    for r in pipeline.flush():
        if on_released is not None:
            on_released(r)
    return n


def interval_frames(fps: float | None, per_second: float) -> int:
    """Frames between two looks for about `per_second` looks per second (1 when the rate is unknown)."""
    if not fps or not math.isfinite(fps):
        return 1
    return max(1, round(fps / per_second))
