"""Face tracks of a stored video per time step: the configuration of face jobs and of the recall check.

`track_faces` = FrameSource (skipping what the sampler never looks at) → sampler → CenterFace at the
detector's input size → tracker → `StepCollector`. `face_track_recall` compares two such runs: the
fraction of the reference's reported face-steps (each stands for one step of one face's time) that
the fast run also reports, at a timestamp within one step, with boxes at IoU >= 0.5.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import takewhile
from typing import Generic, TypeVar

import numpy as np

from videolens.media.frame_source import FrameSource, FrameSourceError, Skip, Source, SourceInfo
from videolens.services.video_analysis.pipeline import FaceTrackPipeline, StageTimes, TrackingConfig, run
from videolens.services.video_analysis.steps import StepCollector, StepSample
from videolens.vision.detections import iou_matrix
from videolens.vision.detector import FaceDetector
from videolens.vision.sampler import AdaptiveConfig, Sampler, SamplerKind, make_sampler
from videolens.vision.types import Detection

D = TypeVar("D")

#: a reported face counts as found when the other run reports a box this close (IoU) within one step
RECALL_IOU = 0.5
#: jobs detect at this long side: Rekognition's smallest face (40 px in a 1080p frame) is 13 px there,
#: above CenterFace's 12-px floor; larger values find smaller faces at a cost that grows with the area
JOB_DETECT_MAX_SIDE = 640
#: sparse looks run the detector at this fraction of its threshold: a weaker look extends a track that
#: a look at or above the threshold confirmed (hysteresis, as ByteTrack does), because a face near the
#: threshold flickers and a look at every frame would catch it above the threshold on some frame
WEAK_FACTOR = 0.6


@dataclass(frozen=True)
class SamplingConfig:
    """Which frames the detector sees. The default (adaptive, at most 0.4 s apart, sooner on motion)
    keeps face-track recall >= 99 % against a look at every frame (tests/pipeline/test_recall.py)."""

    kind: SamplerKind = "adaptive"
    every: int = 1  # for kind "every_n"
    adaptive: AdaptiveConfig = field(default_factory=AdaptiveConfig)

    @classmethod
    def every_frame(cls) -> SamplingConfig:
        return cls(kind="every")

    @classmethod
    def from_stride(cls, stride: int) -> SamplingConfig:
        """The job setting: 0 = adaptive (default), 1 = every frame, N = every N-th frame."""
        if stride <= 0:
            return cls()
        return cls(kind="every") if stride == 1 else cls(kind="every_n", every=stride)

    @property
    def max_gap_s(self) -> float:
        if self.kind == "adaptive":
            return self.adaptive.max_gap_s
        return 0.0 if self.kind == "every" else self.every / 25.0

    def sampler(self) -> Sampler:
        return make_sampler(self.kind, self.every, self.adaptive)

    @property
    def decode_skip(self) -> Skip:
        # the adaptive sampler reads frame times, so the frames no other frame refers to (most B-frames)
        # need not be decoded at all; "every N" counts decoded frames and keeps them all
        return {"adaptive": "nonref", "keyframes": "nonkey"}.get(self.kind, "none")  # type: ignore[return-value]


@dataclass
class FaceTrackResult(Generic[D]):
    info: SourceInfo
    samples: list[StepSample[D]]
    frames: int
    tracks: int
    times: StageTimes
    elapsed_s: float
    decode_error: str | None = None
    #: every look of every track (time ms, box), for the recall check
    track_looks: dict[int, list[tuple[float, tuple[float, float, float, float]]]] = field(
        default_factory=dict
    )


def track_faces(
    source: Source,
    detector: FaceDetector,
    describe: Callable[[np.ndarray, Detection], D],
    *,
    sampling: SamplingConfig | None = None,
    step_ms: int = 500,
    embed: Callable[[np.ndarray, list[Detection]], np.ndarray] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[float], None] | None = None,
    name: str | None = None,
    until_s: float | None = None,
) -> FaceTrackResult[D]:
    """Tracks of every face, reported once per `step_ms`; raises pipeline.Stopped on `should_stop()`."""
    sampling = sampling or SamplingConfig()
    started = time.perf_counter()
    threshold = detector.threshold
    sparse = sampling.kind != "every"
    collector: StepCollector[D] = StepCollector(step_ms, describe, embed, confirm_score=threshold)
    if sparse and sampling.kind == "adaptive" and sampling.adaptive.weak_score <= 0:
        sampling = replace(sampling, adaptive=replace(sampling.adaptive, weak_score=threshold))
    with FrameSource(source, skip=sampling.decode_skip, name=name) as frames:
        info = frames.info
        fps = info.frame_rate or 25.0
        pipeline = FaceTrackPipeline(
            detector,
            sampling.sampler(),
            (info.width, info.height),
            # hold as long as the old every-frame job did (half a second, at least 10 frames), and
            # longer than two sampling gaps so one missed look never splits a track
            tracking=TrackingConfig(hold_s=max(0.5, 10 / fps, 2.5 * sampling.max_gap_s), backfill_s=0.0),
            threshold=threshold * WEAK_FACTOR if sparse else threshold,
            hooks=[collector.on_detections],  # type: ignore[list-item]
        )
        expected = info.frame_count or max(1, int((info.duration_s or 1.0) * fps))
        report = None
        if progress is not None:
            # frames skipped by the decoder are not counted: progress follows the frames' times
            def report(_: int) -> None:
                seen = pipeline.last_detect / 1e6
                progress(min(99.0, 100.0 * seen * fps / expected))

        stream = frames if until_s is None else takewhile(lambda f: f.time <= until_s, frames)
        n = run(stream, pipeline, should_stop=should_stop, progress=report)
        samples = collector.finish()
        error = frames.error
        if n == 0 and not should_stop():  # headers only, or nothing decodes: a failed job, not "no faces"
            raise FrameSourceError(f"{name or 'video'}: no video frame could be decoded ({error or 'empty'})")
    return FaceTrackResult(
        info=info,
        samples=samples,
        frames=n,
        tracks=len({s.track_id for s in samples}),
        times=pipeline.times,
        elapsed_s=time.perf_counter() - started,
        decode_error=error,
        track_looks=collector.track_looks,
    )


@dataclass(frozen=True)
class Recall:
    recall: float  # found / reference face-steps (1.0 when the reference has none)
    reference_steps: int
    found_steps: int
    step_ms: int

    @property
    def face_seconds(self) -> float:
        return self.reference_steps * self.step_ms / 1000


def _box_at(looks: list[tuple[float, tuple[float, float, float, float]]], t: float) -> np.ndarray:
    """A track's box at time t: linear between the looks around t, the nearest look outside its span."""
    times = np.array([lt for lt, _ in looks])
    boxes = np.array([b for _, b in looks], dtype=np.float64)
    if t <= times[0]:
        return boxes[0]
    if t >= times[-1]:
        return boxes[-1]
    k = int(np.searchsorted(times, t))
    w = (t - times[k - 1]) / max(times[k] - times[k - 1], 1e-9)
    return np.asarray((1 - w) * boxes[k - 1] + w * boxes[k])


def face_track_recall(reference: FaceTrackResult[D], fast: FaceTrackResult[D], step_ms: int) -> Recall:
    """Share of the reference's reported face-steps that a track of `fast` also reports.

    A reference face at step T (described on the frame at time t) is found when a track `fast`
    reports at T or one step off overlaps it at IoU >= RECALL_IOU, the track's box taken at t
    (interpolated between the track's looks): the tracks are compared, not which frame each run
    happened to describe.
    """
    steps: dict[int, set[int]] = {}
    for s in fast.samples:
        steps.setdefault(s.track_id, set()).add(s.timestamp_ms)
    total = found = 0
    for s in reference.samples:
        total += 1
        d = s.detection
        ref = np.array([[d.x1, d.y1, d.x2, d.y2]], dtype=np.float32)
        window = {s.timestamp_ms - step_ms, s.timestamp_ms, s.timestamp_ms + step_ms}
        candidates = [tid for tid, ts in steps.items() if ts & window]
        if not candidates:
            continue
        boxes = np.stack([_box_at(fast.track_looks[tid], s.time_ms) for tid in candidates]).astype(np.float32)
        if float(iou_matrix(ref, boxes).max()) >= RECALL_IOU:
            found += 1
    return Recall(found / total if total else 1.0, total, found, step_ms)
