"""Results per time step: the sink of face detection / face search jobs (Rekognition samples every 500 ms).

For sample time T = k·step, each track contributes the detection of its own that lies closest to T
within [T - step/2, T + step/2), so a face the detector missed on the frame nearest T is still reported.
Only that one frame per track and window is kept (a reference to the decoded frame, converted to BGR
at full size only when the window closes), so the cost of describing and embedding is per reported
face, not per look.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from videolens.media.frame_source import SourceFrame
from videolens.vision.detections import Detections
from videolens.vision.types import Detection

#: a track needs this many looks that found it to be reported (single-look false positives are noise)
MIN_TRACK_DETECTIONS = 2
#: face search embeds a track's first reported faces, then one every EMBED_EVERY_MS: a person is matched
#: on the mean descriptor of their tracks, which a few samples per track already give
EMBED_FIRST = 3
EMBED_EVERY_MS = 2000

D = TypeVar("D")


@dataclass
class StepSample(Generic[D]):
    timestamp_ms: int  # the step T
    time_ms: float  # the time of the frame the face was described on (within half a step of T)
    track_id: int
    detection: Detection
    detail: D
    embedding: np.ndarray | None


class StepCollector(Generic[D]):
    """A pipeline hook (`on_detections`) that keeps, per window and track, the look closest to T."""

    def __init__(
        self,
        step_ms: int,
        describe: Callable[[np.ndarray, Detection], D],
        embed: Callable[[np.ndarray, list[Detection]], np.ndarray] | None = None,
        confirm_score: float = 0.0,
    ) -> None:
        self.step = step_ms
        self.confirm_score = confirm_score
        self.best_score: dict[int, float] = {}
        self._embedded: dict[int, tuple[int, float]] = {}  # track → (count, time ms of the last)
        #: every look of every track: (time ms, box), for track-level comparisons (the recall check)
        self.track_looks: dict[int, list[tuple[float, tuple[float, float, float, float]]]] = {}
        self.describe = describe
        self.embed = embed
        self.samples: list[StepSample[D]] = []
        self.looks: Counter[int] = Counter()
        self._window: int | None = None
        self._best: dict[int, tuple[float, SourceFrame, Detection]] = {}

    def on_detections(self, frame: SourceFrame, tracked: Detections) -> None:
        time_ms = frame.time * 1000.0
        k = math.floor((time_ms + self.step / 2) / self.step)
        if self._window is not None and k != self._window:
            self._flush(self._window)
        self._window = k
        for det, tid in zip(tracked.to_list(), tracked.track_id, strict=True):
            tid = int(tid)
            self.looks[tid] += 1
            self.best_score[tid] = max(self.best_score.get(tid, 0.0), det.score)
            self.track_looks.setdefault(tid, []).append((time_ms, (det.x1, det.y1, det.x2, det.y2)))
            distance = abs(time_ms - k * self.step)
            if tid not in self._best or distance < self._best[tid][0]:
                self._best[tid] = (distance, frame, det)

    def _flush(self, k: int) -> None:
        by_frame: dict[int, list[tuple[int, Detection]]] = {}
        frames: dict[int, SourceFrame] = {}
        for tid in sorted(self._best):
            _, frame, det = self._best[tid]
            by_frame.setdefault(frame.index, []).append((tid, det))
            frames[frame.index] = frame
        window: list[StepSample[D]] = []
        for index, faces in sorted(by_frame.items()):
            image = frames[index].bgr()
            time_ms = frames[index].time * 1000.0
            todo = [i for i, (tid, _) in enumerate(faces) if self._wants_embedding(tid, time_ms)]
            embeddings: dict[int, np.ndarray] = {}
            if self.embed is not None and todo:
                # one batch per frame: the embedder's network gains from it (docs/face-engine.md)
                batch = self.embed(image, [faces[i][1] for i in todo])
                embeddings = {i: batch[k] for k, i in enumerate(todo)}
            for i, (tid, det) in enumerate(faces):
                emb = embeddings.get(i)
                window.append(StepSample(k * self.step, time_ms, tid, det, self.describe(image, det), emb))
        self.samples.extend(sorted(window, key=lambda s: s.track_id))
        self._best.clear()

    def _wants_embedding(self, tid: int, time_ms: float) -> bool:
        if self.embed is None:
            return False
        count, last = self._embedded.get(tid, (0, -1e18))
        if count < EMBED_FIRST or time_ms - last >= EMBED_EVERY_MS:
            self._embedded[tid] = (count + 1, time_ms)
            return True
        return False

    def finish(self) -> list[StepSample[D]]:
        """The reported samples, in time order, of the tracks found on at least MIN_TRACK_DETECTIONS
        looks of which one scored at least `confirm_score` (weaker looks only extend a confirmed track)."""
        if self._window is not None:
            self._flush(self._window)
            self._window = None
        return [
            s
            for s in self.samples
            if self.looks[s.track_id] >= MIN_TRACK_DETECTIONS
            and self.best_score[s.track_id] >= self.confirm_score
        ]
