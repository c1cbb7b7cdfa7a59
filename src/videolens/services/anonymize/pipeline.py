"""Look-ahead anonymization pipeline: detect on some frames, track in between, hide faces on all frames.

Frames wait in a short buffer. A frame leaves it only once a detection has run at least
`backfill` frames later, so a face first detected on frame k is also hidden on the frames before k
(where it was already there but not yet found), and every frame between two detections gets boxes
interpolated between them instead of the stale boxes of the last detection.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from videolens.media.video_transcode import Frame
from videolens.services.anonymize.options import AnonymizeOptions
from videolens.services.anonymize.sparing import SpareDecider
from videolens.vision.detector import FaceDetector
from videolens.vision.redaction import redact, scaled_box
from videolens.vision.tracker import Box, FaceTracker


@dataclass(frozen=True)
class FaceBox:
    """One face on one output frame, as written to --boxes-json."""

    track_id: int
    box: tuple[float, float, float, float]  # face box, pixels
    mask: tuple[int, int, int, int]  # the region actually redacted (box x mask scale, clipped)
    score: float
    detected: bool  # detected on this frame (else interpolated / back-filled / held by the tracker)
    spared: bool


@dataclass(frozen=True)
class FrameBoxes:
    index: int
    pts: int | None
    time: float | None
    faces: tuple[FaceBox, ...]


@dataclass
class PipelineStats:
    frames: int = 0
    detections_run: int = 0
    tracks: set[int] = field(default_factory=set)
    spared_tracks: set[int] = field(default_factory=set)


def auto_interval(fps: float | None) -> int:
    """Detection interval for "auto": about 6 detections per second, 1 to 8 frames apart."""
    if not fps or not math.isfinite(fps):
        return 4
    return max(1, min(8, round(fps / 6)))


def _center_error(a: Box, b: Box) -> float:
    """Centre distance of two boxes relative to the size of the first."""
    dx = (a[0] + a[2] - b[0] - b[2]) / 2
    dy = (a[1] + a[3] - b[1] - b[3]) / 2
    return math.hypot(dx, dy) / max(a[2] - a[0], a[3] - a[1], 1.0)


class AnonymizePipeline:
    """A FrameProcessor (see media.video_transcode) that hides every tracked face."""

    def __init__(
        self,
        detector: FaceDetector,
        options: AnonymizeOptions,
        fps: float | None,
        size: tuple[int, int],
        spare: SpareDecider | None = None,
        on_frame: Callable[[FrameBoxes], None] | None = None,
    ) -> None:
        self.detector = detector
        self.options = options
        self.style = options.style
        self.width, self.height = size
        self.spare = spare
        self.on_frame = on_frame
        self.auto = options.detect_every == "auto"
        self.max_interval = auto_interval(fps) if self.auto else int(options.detect_every)
        rate = fps if fps and math.isfinite(fps) else 25.0
        # A face is often found only a few frames after it starts entering the picture: cover ~0.3 s
        # before its first detection on top of the detection interval itself.
        self.backfill = self.max_interval + max(2, round(rate * 0.3))
        hold = max(2 * self.max_interval + 1, round(rate * 0.5))
        self.tracker = FaceTracker(hold_frames=hold, backfill_frames=self.backfill, frame_size=size)
        self.buffer: deque[Frame] = deque()
        self.next_detect = 0
        self.last_detect = -1
        self.stats = PipelineStats()

    # FrameProcessor -------------------------------------------------------------------------------
    def push(self, frame: Frame) -> Iterable[Frame]:
        self.buffer.append(frame)
        if frame.index >= self.next_detect:
            self._detect(frame)
        return self._release(self.last_detect - self.backfill)

    def flush(self) -> Iterable[Frame]:
        if self.buffer and self.buffer[-1].index > self.last_detect:
            # a final detection on the last frame gives the frames after the previous one their end point
            self._detect(self.buffer[-1])
        return self._release(None)

    # internals ------------------------------------------------------------------------------------
    def _detect(self, frame: Frame) -> None:
        predicted = {t.track_id: t.predict(frame.index) for t in self.tracker.tracks.values() if t.alive}
        detections = self.detector.detect(frame.image, threshold=self.options.threshold)
        matches = self.tracker.update(frame.index, detections)
        self.stats.detections_run += 1
        if self.spare is not None and matches:
            self.spare.observe(frame.index, frame.image, matches)
        self.last_detect = frame.index
        interval = self.max_interval
        if self.auto and self.max_interval > 1:
            # Interpolation is exact for steady motion; sample twice as often while a face accelerates
            # (the constant-velocity prediction missed by more than a quarter of the face) or while a
            # confident new face has no velocity yet.
            for track_id, det in matches:
                if track_id not in predicted:
                    surprise = det.score >= 0.5
                else:
                    surprise = _center_error((det.x1, det.y1, det.x2, det.y2), predicted[track_id]) > 0.25
                if surprise:
                    interval = max(1, self.max_interval // 2)
                    break
        self.next_detect = frame.index + interval

    def _release(self, upto: int | None) -> list[Frame]:
        out: list[Frame] = []
        while self.buffer and (upto is None or self.buffer[0].index <= upto):
            frame = self.buffer.popleft()
            self._redact(frame)
            out.append(frame)
        if out:
            cut = out[-1].index + 1
            self.tracker.forget_before(cut)
            if self.spare is not None:
                self.spare.forget_before(cut, self.tracker.tracks.keys())
        return out

    def _redact(self, frame: Frame) -> None:
        faces: list[FaceBox] = []
        hide: list[tuple[float, float, float, float]] = []
        for tb in self.tracker.boxes_at(frame.index):
            mask = scaled_box(tb.box, self.style.mask_scale, self.width, self.height)
            if mask[2] <= mask[0] or mask[3] <= mask[1]:
                continue  # extrapolated entirely outside the picture
            spared = self.spare is not None and self.spare.spared(tb.track_id, tb.sources)
            faces.append(FaceBox(tb.track_id, tb.box, mask, tb.score, tb.detected, spared))
            self.stats.tracks.add(tb.track_id)
            if spared:
                self.stats.spared_tracks.add(tb.track_id)
            else:
                hide.append(tb.box)
        if hide and self.style.mode != "none":
            redact(frame.image, hide, self.style)
            frame.modified = True
        self.stats.frames += 1
        if self.on_frame is not None:
            self.on_frame(FrameBoxes(frame.index, frame.pts, frame.time, tuple(faces)))
