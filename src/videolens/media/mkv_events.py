"""Matroska reader events and track facts: what MkvReader reports as the bytes go by."""

from __future__ import annotations

from dataclasses import dataclass


class MkvError(ValueError):
    """The bytes are not a Matroska stream we can follow (reason in .kind)."""

    def __init__(self, kind: str, message: str, offset: int = 0) -> None:
        super().__init__(f"{message} (offset {offset})")
        self.kind = kind  # "not-mkv" | "malformed" | "too-large"
        self.offset = offset


@dataclass(frozen=True)
class EbmlHeader:
    raw: bytes
    doc_type: str
    offset: int = 0  # where this document starts in the byte stream (GetMedia sends many)


@dataclass(frozen=True)
class SegmentStart:
    offset: int
    size: int | None  # None = unknown size (live muxers)


@dataclass(frozen=True)
class SegmentInfo:
    raw: bytes
    timecode_scale: int  # nanoseconds per timecode unit
    duration: float | None


@dataclass(frozen=True)
class TrackInfo:
    number: int
    type: int  # 1 video, 2 audio, 17 subtitle
    codec_id: str
    codec_private: bytes
    default_duration_ns: int | None
    width: int | None = None
    height: int | None = None

    @property
    def is_video(self) -> bool:
        return self.type == 1


@dataclass(frozen=True)
class Tracks:
    raw: bytes
    tracks: tuple[TrackInfo, ...]


@dataclass(frozen=True)
class TagsElement:
    raw: bytes


@dataclass(frozen=True)
class ClusterStart:
    offset: int
    timecode: int  # in TimecodeScale units
    size: int | None


@dataclass(frozen=True)
class Block:
    """One frame (or laced frames) of one track; `data` is the SimpleBlock payload, flags normalised."""

    track: int
    cluster_timecode: int
    relative_timecode: int
    keyframe: bool
    data: bytes
    header_len: int  # track varint + int16 timecode + flags byte
    duration: int | None = None  # BlockDuration of a BlockGroup, in timecode units

    @property
    def timecode(self) -> int:
        return self.cluster_timecode + self.relative_timecode


@dataclass(frozen=True)
class ClusterEnd:
    offset: int
    timecode: int


@dataclass(frozen=True)
class SegmentEnd:
    offset: int


@dataclass(frozen=True)
class StreamEnd:
    """Returned by close(): whether the input stopped at a clean element boundary."""

    complete: bool
    incomplete_cluster_timecode: int | None = None
    incomplete_cluster_offset: int | None = None
    pending_bytes: int = 0


Event = (
    EbmlHeader
    | SegmentStart
    | SegmentInfo
    | Tracks
    | TagsElement
    | ClusterStart
    | Block
    | ClusterEnd
    | SegmentEnd
    | StreamEnd
)
