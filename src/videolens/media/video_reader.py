"""Probes a stored video for analysis jobs: Rekognition-style VideoMetadata (frames: media.frame_source)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import av
import av.error

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
