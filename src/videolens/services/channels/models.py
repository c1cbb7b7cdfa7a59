"""Records of the channels capability: input security groups, inputs, channels and their renditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChannelState = Literal["CREATING", "IDLE", "STARTING", "RUNNING", "STOPPING", "DELETING", "DELETED"]
InputType = Literal["RTMP_PUSH", "RTMP_PULL", "URL_PULL", "RTSP_PUSH"]
PUSH_TYPES = ("RTMP_PUSH", "RTSP_PUSH")
INPUT_TYPES = ("RTMP_PUSH", "RTMP_PULL", "URL_PULL", "RTSP_PUSH")


@dataclass
class SecurityGroup:
    id: str
    arn: str
    cidrs: list[str]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class InputDestination:
    """One push endpoint: `stream_name` is MediaLive's "app/instance", `key` the unguessable stream key."""

    stream_name: str
    key: str


@dataclass
class Input:
    id: str
    arn: str
    name: str
    type: str
    destinations: list[InputDestination] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # pull URLs
    security_groups: list[str] = field(default_factory=list)
    attached_channels: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return "ATTACHED" if self.attached_channels else "DETACHED"


@dataclass(frozen=True)
class AudioSpec:
    """A rendition's audio (from its AudioDescription): None fields mean "as the input" (AAC is copied)."""

    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class Rendition:
    """One output of the ladder: every rendition is encoded from the same decoded (anonymized) frame."""

    name_modifier: str
    width: int | None  # None: the input's size
    height: int | None
    bitrate: int
    gop_frames: int | None  # None: one key frame per segment
    audio: AudioSpec | None = AudioSpec()  # None: no audio in this rendition


@dataclass(frozen=True)
class OutputPlan:
    """What the channel's encoder does, read from EncoderSettings (see docs/channels.md)."""

    renditions: tuple[Rendition, ...]
    segment_seconds: float
    index_segments: int  # segments in the rolling live playlist
    destination_id: str


@dataclass
class Channel:
    id: str
    arn: str
    name: str
    state: str
    created_at: float
    input_attachments: list[dict[str, Any]]
    destinations: list[dict[str, Any]]
    encoder_settings: dict[str, Any]
    channel_class: str = "SINGLE_PIPELINE"
    role_arn: str | None = None
    log_level: str = "DISABLED"
    input_specification: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: our extension: an anonymization spec ({"mode": ..., "spare_collection": ...}) or None
    anonymize: dict[str, Any] | None = None
    #: the videolens stream the input is recorded into
    recording_stream: str = ""
    #: unguessable token authorising the native HLS URL (hls.js cannot send a header)
    playback_key: str = ""

    @property
    def input_ids(self) -> list[str]:
        return [str(a.get("InputId")) for a in self.input_attachments if a.get("InputId")]


@dataclass
class Refusal:
    """A push turned away at the door (kept for operators; also logged)."""

    at: float
    peer: str
    path: str
    reason: str


@dataclass
class RunnerStats:
    connections: int = 0
    frames_in: int = 0
    segments: int = 0
    discontinuities: int = 0
    last_error: str | None = None
    frames_dropped: int = 0  # left out to stay within the latency budget
    lag_s: float = 0.0  # how far reading the input is behind real time (push inputs)
    #: per segment: (wall time written, media end on its connection's time line, wall time of that
    #: connection's first frame), for delay measurements
    segment_times: list[tuple[float, float, float]] = field(default_factory=list)
