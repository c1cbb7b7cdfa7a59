"""Frame samplers: which frames a model sees (every frame, every N, every T seconds, adaptive, key frames).

Everything between two sampled frames is the tracker's job (interpolation, hold, back-fill), so a
sampler trades detector time against how far a face may move between two looks. The adaptive sampler
looks at most `max_gap_s` apart and sooner when the picture says the guess is risky:
- the scene changed (a cut, a pan: the mean luma difference since the last look exceeds `motion`);
- a face moved differently than predicted (constant-velocity error above a quarter of the face);
- a face was new or weak (score close to the detector threshold: it may drop out next time);
it samples at least `min_gap_s` apart. Times are the frames' own times, so the gaps hold under
variable frame rate and when the source skipped frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from videolens.vision.detections import Detections

SamplerKind = Literal["every", "every_n", "adaptive", "keyframes"]
Box = tuple[float, float, float, float]


class SampledFrame(Protocol):
    """What a sampler reads of a frame (media.frame_source.SourceFrame and the transcoder's Frame)."""

    index: int
    time: float

    def luma_thumbnail(self, step: int = 16) -> np.ndarray: ...


class Sampler(Protocol):
    #: set by `wants` when the frame starts a new shot: tracks of the old shot must not continue into it
    scene_cut: bool

    def wants(self, frame: SampledFrame, key: bool = False) -> bool: ...

    def observed(self, frame: SampledFrame, tracked: Detections, predicted: dict[int, Box]) -> None: ...


class EveryN:
    """Every `n`-th decoded frame (n = 1: every frame)."""

    scene_cut = False

    def __init__(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError(f"the detection interval must be >= 1, got {n}")
        self.n = n
        self._next = 0

    def wants(self, frame: SampledFrame, key: bool = False) -> bool:
        return frame.index >= self._next

    def observed(self, frame: SampledFrame, tracked: Detections, predicted: dict[int, Box]) -> None:
        self._next = frame.index + self.n


class KeyFrames:
    """Key frames only (pair with a source that decodes key frames only)."""

    scene_cut = False

    def wants(self, frame: SampledFrame, key: bool = False) -> bool:
        return key

    def observed(self, frame: SampledFrame, tracked: Detections, predicted: dict[int, Box]) -> None:
        return None


class EveryInterval:
    """At most one frame per `seconds` of video time, whatever the frame rate (sampling by fps)."""

    scene_cut = False

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"the sampling interval must be > 0 s, got {seconds}")
        self.seconds = seconds
        self._next = -math.inf

    def wants(self, frame: SampledFrame, key: bool = False) -> bool:
        return frame.time >= self._next - 1e-6

    def observed(self, frame: SampledFrame, tracked: Detections, predicted: dict[int, Box]) -> None:
        self._next = frame.time + self.seconds


def center_error(a: Box, b: Box) -> float:
    """Centre distance of two boxes relative to the larger side of the first."""
    dx = (a[0] + a[2] - b[0] - b[2]) / 2
    dy = (a[1] + a[3] - b[1] - b[3]) / 2
    return math.hypot(dx, dy) / max(a[2] - a[0], a[3] - a[1], 1.0)


@dataclass(frozen=True)
class AdaptiveConfig:
    max_gap_s: float = 0.4
    min_gap_s: float = 0.0
    #: mean absolute luma difference (0..255, on a 1/16 thumbnail) since the last look that forces one,
    #: and at least twice the usual difference between two frames (a textured pan differs everywhere)
    motion: float = 18.0
    #: a prediction error above this fraction of the face halves the gap
    surprise: float = 0.25
    #: tracks scoring below this are looked at twice as often (they may fall under the threshold)
    weak_score: float = 0.0
    #: a difference from the previous decoded frame above this and above 3x the usual frame-to-frame
    #: difference marks a cut (a new shot)
    cut: float = 15.0


class Adaptive:
    def __init__(self, config: AdaptiveConfig | None = None) -> None:
        self.config = config or AdaptiveConfig()
        self._next_time = -math.inf
        self._last_time = -math.inf
        self._thumb: np.ndarray | None = None  # at the last look
        self._previous: np.ndarray | None = None  # of the previous frame
        self.scene_cut = False
        self._usual = 0.0  # running mean of frame-to-frame differences

    @staticmethod
    def _difference(a: np.ndarray | None, b: np.ndarray) -> float:
        if a is None:
            return 0.0
        if a.shape != b.shape:
            return math.inf
        return float(np.mean(np.abs(a - b)))

    def wants(self, frame: SampledFrame, key: bool = False) -> bool:
        cfg = self.config
        thumb = frame.luma_thumbnail() if cfg.motion > 0 or cfg.cut > 0 else None
        self.scene_cut = False
        if thumb is not None:
            # a 1/16 luma thumbnail is a few hundred samples: cheap enough for every decoded frame
            step = self._difference(self._previous, thumb)
            self.scene_cut = cfg.cut > 0 and step > max(cfg.cut, 3 * self._usual)
            if math.isfinite(step) and not self.scene_cut and self._previous is not None:
                self._usual = step if self._usual == 0 else 0.9 * self._usual + 0.1 * step
            self._previous = thumb
        if self.scene_cut or frame.time >= self._next_time - 1e-6:
            return True
        if frame.time < self._last_time + cfg.min_gap_s - 1e-6 or thumb is None or cfg.motion <= 0:
            return False
        return self._difference(self._thumb, thumb) > max(cfg.motion, 2 * self._usual)

    def observed(self, frame: SampledFrame, tracked: Detections, predicted: dict[int, Box]) -> None:
        cfg = self.config
        gap = cfg.max_gap_s
        for i in range(len(tracked)):
            if not tracked.detected[i]:
                continue
            tid = int(tracked.track_id[i])
            box = tracked.box(i)
            risky = float(tracked.score[i]) < cfg.weak_score
            if tid in predicted:
                risky = risky or center_error(box, predicted[tid]) > cfg.surprise
            if risky:
                gap = max(cfg.min_gap_s, cfg.max_gap_s / 2)
                break
        self._thumb = self._previous
        self._last_time = frame.time
        self._next_time = frame.time + gap


def make_sampler(kind: SamplerKind, n: int = 1, adaptive: AdaptiveConfig | None = None) -> Sampler:
    if kind == "every":
        return EveryN(1)
    if kind == "every_n":
        return EveryN(n)
    if kind == "keyframes":
        return KeyFrames()
    if kind == "adaptive":
        return Adaptive(adaptive)
    raise ValueError(f"unknown sampler {kind!r}")
