"""Anonymization as a configuration of the one video pipeline: look ahead, track, hide faces on all frames.

`AnonymizePipeline` is the transcoder's FrameProcessor around `FaceTrackPipeline`
(services/video_analysis/pipeline.py) configured with look-ahead: a frame leaves only once a
detection has run at least `backfill` later, so a face first detected at t is also hidden on the
frames before t (where it was already there but not yet found), and every frame between two
detections gets boxes interpolated between them instead of the stale boxes of the last detection.
Sampling is the pipeline's adaptive sampler for "auto" (sooner on motion, cuts and surprising
movement; looks between whole-picture looks at most AUTO_FULL_LOOK_S apart may be partial: crops
around the tracks, or the picture shrunk to what the smallest tracked face allows) or every N
frames. Faces are hidden on the decoder's own YUV planes when the frame is plain 4:2:0 (no
full-frame colour conversion), on BGR otherwise, in the transcoder's draw thread (`Frame.defer`), so
the pixel work runs beside the next frames' detection on the other core.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from videolens.media.video_types import Frame
from videolens.services.anonymize.options import AnonymizeOptions
from videolens.services.anonymize.sparing import SpareDecider
from videolens.services.video_analysis.pipeline import FaceTrackPipeline, Released, TrackingConfig, tick
from videolens.vision.detections import Detections
from videolens.vision.detector import FaceDetector
from videolens.vision.redaction import RedactionStyle, redact, redact_i420, scaled_box
from videolens.vision.sampler import Adaptive, AdaptiveConfig, EveryN, Sampler

#: "auto": the adaptive sampler, a little denser than the jobs' (a face must be covered on every frame,
#: not only reported once per step); the ground-truth tests hold it to >= 99.5 % of face pixels hidden.
#: With look-ahead (a face that appears is back-filled, the frames between two looks interpolated) the
#: jobs' motion threshold (18) and a surprise of half a face suffice: 12 and a quarter face looked 49 %
#: more often on hamilton (55 vs 37 looks) for no coverage gain; 0.4 s gaps or no surprise trigger
#: left faces 40 % uncovered on some frames (docs/performance.md)
AUTO_SAMPLING = AdaptiveConfig(max_gap_s=0.33, motion=18.0, surprise=0.5)
AUTO_MAX_GAP_S = AUTO_SAMPLING.max_gap_s
#: "auto": looks between two at the whole picture this far apart may be partial looks
#: (tests/pipeline/test_partial_looks.py); None: every look is a whole one. 0.8, not 0.7: at 24-25 fps two
#: 0.33 s gaps are 0.72-0.75 s, which left such input without partial looks
AUTO_FULL_LOOK_S: float | None = 0.8


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
    """Frames between two scheduled looks for "auto" (motion, cuts and surprises add looks)."""
    if not fps or not math.isfinite(fps):
        return 4
    return max(1, round(fps * AUTO_MAX_GAP_S))


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
        self.options = options
        self.style = options.style
        self.width, self.height = size
        self.spare = spare
        self.on_frame = on_frame
        rate = fps if fps and math.isfinite(fps) else 25.0
        auto = options.detect_every == "auto"
        self.max_interval = auto_interval(fps) if auto else int(options.detect_every)
        sampler: Sampler = Adaptive(AUTO_SAMPLING) if auto else EveryN(self.max_interval)
        # "auto": between two looks at the whole picture (at most AUTO_FULL_LOOK_S apart) the looks
        # may be partial; a face that appears is found by the next whole look at the latest
        full_look_s = AUTO_FULL_LOOK_S if auto else None
        found_within = max(self.max_interval, round(rate * full_look_s)) if full_look_s else self.max_interval
        # A face is often found only a few frames after it starts entering the picture: cover ~0.3 s
        # before its first detection on top of the interval it may appear in unseen.
        backfill = found_within + max(2, round(rate * 0.3))
        hold = max(2 * self.max_interval + 1, round(rate * 0.5))
        self.core = FaceTrackPipeline(
            detector,
            sampler,
            size,
            tracking=TrackingConfig(hold_s=hold / rate, backfill_s=backfill / rate),
            threshold=options.threshold,
            lookahead=True,
            full_look_s=full_look_s,
            # 640x360 is looked at as 640x352, not padded to 640x384: 8 % less per whole look
            squeeze_input=True,
            hooks=[self._observe] if spare is not None else [],
        )
        self.stats = PipelineStats()

    # FrameProcessor -------------------------------------------------------------------------------
    def push(self, frame: Frame) -> Iterable[Frame]:
        _timed(frame)
        return self._redact_all(self.core.push(frame))  # type: ignore[arg-type]

    def flush(self) -> Iterable[Frame]:
        return self._redact_all(self.core.flush())

    # internals ------------------------------------------------------------------------------------
    def _observe(self, frame: object, tracked: Detections) -> None:
        assert self.spare is not None and isinstance(frame, Frame)
        matches = list(zip((int(t) for t in tracked.track_id), tracked.to_list(), strict=True))
        if matches:
            self.spare.observe(tick(frame.time or 0.0), frame.image, matches)

    def _redact_all(self, released: list[Released]) -> list[Frame]:
        self.stats.detections_run = self.core.times.detections_run
        out = [self._redact(r) for r in released]
        if out and self.spare is not None:
            cut = tick(out[-1].time or 0.0) + 1
            self.spare.forget_before(cut, self.core.tracker.tracks.keys())
        return out

    def _redact(self, r: Released) -> Frame:
        frame = r.frame
        assert isinstance(frame, Frame)
        faces: list[FaceBox] = []
        hide: list[tuple[float, float, float, float]] = []
        for i in range(len(r.faces)):
            box = r.faces.box(i)
            mask = scaled_box(box, self.style.mask_scale, self.width, self.height)
            if mask[2] <= mask[0] or mask[3] <= mask[1]:
                continue  # extrapolated entirely outside the picture
            track_id = int(r.faces.track_id[i])
            spared = self.spare is not None and self.spare.spared(track_id, r.sources[i])
            faces.append(
                FaceBox(track_id, box, mask, float(r.faces.score[i]), bool(r.faces.detected[i]), spared)
            )
            self.stats.tracks.add(track_id)
            if spared:
                self.stats.spared_tracks.add(track_id)
            else:
                hide.append(box)
        if hide and self.style.mode != "none":
            # the pixels are drawn in the transcoder's draw thread: redaction overlaps detection and x264
            frame.defer(_Redaction(hide, self.style))
        self.stats.frames += 1
        if self.on_frame is not None:
            self.on_frame(FrameBoxes(frame.index, frame.pts, frame.time, tuple(faces)))
        return frame


@dataclass(frozen=True)
class _Redaction:
    """Hides `boxes` on a frame: on its YUV planes when it is plain 4:2:0, on BGR otherwise."""

    boxes: list[tuple[float, float, float, float]]
    style: RedactionStyle

    def __call__(self, frame: Frame) -> None:
        planes = frame.yuv
        if planes is not None:
            frame.yuv_modified = redact_i420(planes, self.boxes, self.style) or frame.yuv_modified
        else:
            redact(frame.image, self.boxes, self.style)
            frame.modified = True


def _timed(frame: Frame) -> None:
    if frame.time is None:  # the transcoder always sets it; a hand-made frame gets one from its index
        frame.time = frame.index / 25.0
