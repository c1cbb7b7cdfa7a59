"""Value types of the video transcoder: stream facts, decoded frames, encode options, results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

import av
import numpy as np


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
    """One decoded video frame; the BGR pixels are only converted when someone asks for them."""

    __slots__ = ("index", "pts", "time", "_av", "_image", "modified")

    def __init__(self, index: int, av_frame: av.VideoFrame) -> None:
        self.index = index
        self.pts: int | None = av_frame.pts
        self.time: float | None = float(av_frame.time) if av_frame.time is not None else None
        self._av: av.VideoFrame | None = av_frame
        self._image: np.ndarray | None = None
        self.modified = False

    @property
    def image(self) -> np.ndarray:
        """BGR uint8 pixels (writable); mark `modified` after drawing on them."""
        if self._image is None:
            assert self._av is not None
            self._image = self._av.to_ndarray(format="bgr24")
        return self._image

    def to_av(self) -> av.VideoFrame:
        """The frame to encode: the decoded one untouched when nobody drew on it (saves two conversions)."""
        if self.modified or self._av is None:
            out = av.VideoFrame.from_ndarray(self.image, format="bgr24")
        else:
            out = self._av
        return out

    def release(self) -> None:
        self._av = None
        self._image = None


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
