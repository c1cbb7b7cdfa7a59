"""Value types of the video transcoder: stream facts, decoded frames, encode options, results."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

import av
import numpy as np

from videolens.media.frame_source import thread_reformatter


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    codec: str
    time_base: Fraction
    frame_rate: Fraction | None
    duration_s: float | None
    frame_count: int | None  # from the container header when it has one, else estimated
    rotation: int  # degrees counter-clockwise, from the display matrix
    start_s: float = 0.0  # the first frame's time (streams need not start at 0)
    end_s: float | None = None  # where the video should end, same clock as start_s


class Frame:
    """One decoded video frame; pixels are only converted when someone asks for them.

    Drawing goes either on `image` (BGR, then set `modified`) or, cheaper, on `yuv` (the decoder's
    own 4:2:0 planes as one (H * 3/2, W) array, then set `yuv_modified`): the latter never converts
    the frame's colours, only the regions a filter touches (vision.redaction.redact_i420).
    Each view shows what was drawn on the other before it was read (BGR drawn last wins). A processor
    may also `defer` its drawing: the transcoder then draws in its draw thread, right before
    encoding, so the pixel work overlaps the next frames' decoding and detection.
    """

    __slots__ = ("index", "pts", "time", "_av", "_image", "_yuv", "modified", "yuv_modified", "_deferred")

    def __init__(self, index: int, av_frame: av.VideoFrame) -> None:
        self.index = index
        self.pts: int | None = av_frame.pts
        self.time: float | None = float(av_frame.time) if av_frame.time is not None else None
        self._av: av.VideoFrame | None = av_frame
        self._image: np.ndarray | None = None
        self._yuv: np.ndarray | None = None
        self.modified = False
        self.yuv_modified = False
        self._deferred: list[Callable[[Frame], None]] = []

    @property
    def key(self) -> bool:
        return bool(self._av is not None and self._av.key_frame)

    @property
    def image(self) -> np.ndarray:
        """BGR uint8 pixels (writable); mark `modified` after drawing on them."""
        self._draw_deferred()
        if self._image is None:
            if self.yuv_modified and self._yuv is not None:  # what was drawn on the planes, too
                drawn = av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")
                self._image = drawn.to_ndarray(format="bgr24")
            else:
                assert self._av is not None
                self._image = self._av.to_ndarray(format="bgr24")
        return self._image

    @property
    def yuv(self) -> np.ndarray | None:
        """The planar 4:2:0 pixels (a writable copy), or None when the frame is in another format
        (full-range JPEG YUV, 4:4:4, 10-bit...): then draw on `image`."""
        self._draw_deferred()
        if self.modified:
            return None  # the BGR pixels were drawn on: keep drawing there
        if self._yuv is None:
            assert self._av is not None
            av_frame = self._av
            if av_frame.format.name != "yuv420p" or av_frame.width % 2 or av_frame.height % 2:
                return None
            self._yuv = av_frame.to_ndarray()
        self._image = None  # a BGR copy made before would miss what is drawn on the planes now
        return self._yuv

    def rgb(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        """RGB at the asked size, scaled by swscale straight from the decoded frame."""
        assert self._av is not None
        w, h = width or self._av.width, height or self._av.height
        out = thread_reformatter().reformat(
            self._av, width=w, height=h, format="rgb24", interpolation="BILINEAR"
        )
        return out.to_ndarray()

    def luma_thumbnail(self, step: int = 16) -> np.ndarray:
        """Every `step`-th luma sample as float32 (for motion checks), without any conversion."""
        assert self._av is not None
        if self._av.format.name not in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12"):
            gray = self._av.reformat(format="gray").to_ndarray()
            return gray[::step, ::step].astype(np.float32)
        plane = self._av.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        return rows[: self._av.height : step, : self._av.width : step].astype(np.float32)

    def defer(self, draw: Callable[[Frame], None]) -> None:
        """Run `draw(self)` later: just before the frame is encoded (in the transcoder's draw thread), or
        as soon as anyone reads its pixels (`image`, `yuv`), so no reader ever sees the frame without it."""
        self._deferred.append(draw)

    def _draw_deferred(self) -> None:
        if self._deferred:
            deferred, self._deferred = self._deferred, []  # a draw reads `yuv` / `image` itself
            for draw in deferred:
                draw(self)

    def to_av(self) -> av.VideoFrame:
        """The frame to encode: the decoded one untouched when nobody drew on it (saves two conversions)."""
        self._draw_deferred()
        if self.modified or self._av is None:  # BGR drawn last (it holds any earlier plane drawing)
            return av.VideoFrame.from_ndarray(self.image, format="bgr24")
        if self.yuv_modified and self._yuv is not None:
            return av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")
        return self._av

    def release(self) -> None:
        self._av = None
        self._image = None
        self._yuv = None
        self._deferred = []


class FrameProcessor(Protocol):
    """Receives frames in decode order and returns processed frames in the same order, maybe later."""

    def push(self, frame: Frame) -> Iterable[Frame]: ...

    def flush(self) -> Iterable[Frame]: ...


@dataclass(frozen=True)
class EncodeOptions:
    codec: str | None = None  # None: chosen from the output container (H.264, VP9 for WebM)
    crf: int | None = 20
    preset: str | None = "veryfast"
    threads: int = 0  # 0: the encoder picks
    pix_fmt: str = "yuv420p"


@dataclass
class TranscodeResult:
    frames: int
    info: VideoInfo
    copied_streams: list[str] = field(default_factory=list)
    skipped_streams: list[str] = field(default_factory=list)
    #: set when the input ended early (truncated / corrupt): human-readable position and cause
    truncated_at_s: float | None = None
    warning: str | None = None
