"""Reads a stored video for analysis: Rekognition-style VideoMetadata and decoded frames with times."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import av.error
import numpy as np

from videolens.media.errors import MediaError


@dataclass(frozen=True)
class VideoMetadata:
    """Rekognition's VideoMetadata, front-door neutral (AWS names them Codec, DurationMillis...)."""

    codec: str
    duration_ms: int
    format: str
    frame_rate: float
    frame_width: int
    frame_height: int
    color_range: str  # FULL | LIMITED
    frame_count: int | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _reason(exc: Exception) -> str:
    # FFmpeg errors carry the file path in str(); users know the object by its key, not our blob path
    return str(getattr(exc, "strerror", None) or exc)


def probe(path: Path, name: str | None = None) -> VideoMetadata:
    """Container and stream facts, plus the colour range of the first decoded frame."""
    name = name or path.name
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{name}: the file holds no video stream")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if stream.duration is not None and stream.time_base is not None:
                duration_s = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration_s = container.duration / av.time_base
            else:
                duration_s = 0.0
            color_range = "LIMITED"
            for frame in container.decode(stream):
                # AVCOL_RANGE_JPEG (2) is full range; unspecified and MPEG (1) are limited (video default)
                color_range = "FULL" if int(frame.color_range or 0) == 2 else "LIMITED"
                break
            frames = stream.frames or (round(duration_s * float(rate)) if rate else None)
            return VideoMetadata(
                codec=str(ctx.name),
                duration_ms=int(round(duration_s * 1000)),
                format=str(container.format.long_name or container.format.name),
                frame_rate=round(float(rate), 3) if rate else 0.0,
                frame_width=int(ctx.width),
                frame_height=int(ctx.height),
                color_range=color_range,
                frame_count=int(frames) if frames else None,
            )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(f"{name}: not a readable video ({_reason(exc)})") from exc


@dataclass(frozen=True)
class DecodedFrame:
    index: int
    time_ms: float  # from the start of the video (first frame = its pts minus the stream start)
    image: np.ndarray  # BGR uint8


def frames(path: Path, name: str | None = None) -> Iterator[DecodedFrame]:
    """Every frame in presentation order; times count from the stream's first timestamp."""
    name = name or path.name
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            start: float | None = None
            if stream.start_time is not None and stream.time_base is not None:
                start = float(stream.start_time * stream.time_base)
            for index, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else None
                if t is None:
                    rate = float(stream.average_rate or 25)
                    t = index / rate
                if start is None:
                    start = t
                yield DecodedFrame(index, (t - start) * 1000.0, frame.to_ndarray(format="bgr24"))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"{name}: decoding failed ({_reason(exc)})") from exc
