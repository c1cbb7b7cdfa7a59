"""The pipeline's samplers that every consumer configures: every N, every T seconds, key frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from videolens.services.analyzers.frames import Sampler as AnalyzerSampler
from videolens.services.analyzers.models import Sampling
from videolens.vision.detections import Detections
from videolens.vision.sampler import EveryInterval, EveryN, KeyFrames, Sampler


@dataclass
class Frame:
    index: int
    time: float
    key: bool = False

    def luma_thumbnail(self, step: int = 16) -> np.ndarray:
        return np.zeros((2, 2), dtype=np.float32)


def _taken(sampler: Sampler, frames: list[Frame]) -> list[int]:
    out = []
    for f in frames:
        if sampler.wants(f, key=f.key):
            sampler.observed(f, Detections.empty(), {})
            out.append(f.index)
    return out


def test_every_interval_follows_video_time_under_a_variable_frame_rate() -> None:
    # 30 fps for 1 s, then 10 fps for 1 s, then a 0.7 s gap (the source dropped frames)
    times = [i / 30 for i in range(30)] + [1 + i / 10 for i in range(10)] + [2.6, 2.63, 2.66]
    frames = [Frame(i, t) for i, t in enumerate(times)]
    taken = _taken(EveryInterval(0.5), frames)
    assert [round(frames[i].time, 3) for i in taken] == [0.0, 0.5, 1.0, 1.5, 2.6]


def test_every_interval_refuses_a_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="> 0 s"):
        EveryInterval(0)


def test_every_n_and_key_frames() -> None:
    frames = [Frame(i, i / 25, key=i % 12 == 0) for i in range(30)]
    assert _taken(EveryN(7), frames) == [0, 7, 14, 21, 28]
    assert _taken(KeyFrames(), frames) == [0, 12, 24]


class _Src:
    """What the analyzers' sampler reads of a decoded frame."""

    def __init__(self, key: bool) -> None:
        self.key = key

    def luma_thumbnail(self, step: int = 16) -> np.ndarray:
        return np.zeros((2, 2), dtype=np.float32)


def test_the_analyzers_sampling_counts_across_fragments_on_stream_time() -> None:
    # two fragments of 10 frames at 10 fps; frame numbers restart in each, stream times do not
    fragments = [[(_Src(i == 0), 100.0 + f + i / 10) for i in range(10)] for f in range(2)]
    every_n = AnalyzerSampler(Sampling(every_n_frames=4))
    fps = AnalyzerSampler(Sampling(fps=4.0))
    keys = AnalyzerSampler(Sampling(key_frames=True))
    got: dict[str, list[float]] = {"n": [], "fps": [], "key": []}
    for fragment in fragments:
        for frame, ts in fragment:
            for name, s in (("n", every_n), ("fps", fps), ("key", keys)):
                if s.take(frame, ts):  # type: ignore[arg-type]
                    got[name].append(round(ts - 100.0, 2))
    assert got["n"] == [0.0, 0.4, 0.8, 1.2, 1.6]
    assert got["fps"] == [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8]  # 0.25 s apart at least, on the frame grid
    assert got["key"] == [0.0, 1.0]
    assert keys.skip == "nonkey" and every_n.skip == "none"
