"""Plain records the streams service hands to its front doors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: which clock a fragment query uses
TimeKind = Literal["PRODUCER_TIMESTAMP", "SERVER_TIMESTAMP"]
#: PutMedia timecodes: absolute (epoch) or relative to the producer start
TimecodeType = Literal["ABSOLUTE", "RELATIVE"]


@dataclass(frozen=True)
class StreamInfo:
    name: str
    arn: str
    device_name: str | None
    media_type: str | None
    kms_key_id: str | None
    retention_hours: int
    status: str
    version: str
    created_at: float  # epoch seconds
    tags: dict[str, str] = field(default_factory=dict)
    storage_tier: str = "HOT"


@dataclass(frozen=True)
class FragmentInfo:
    stream_id: int
    seq: int
    fragment_number: str
    producer_ts: float  # epoch seconds
    server_ts: float
    duration_ms: int
    size: int
    blob_key: str
    cluster_offset: int
    session_id: str
    buffer_only: bool
    width: int | None = None
    height: int | None = None

    @property
    def end_producer_ts(self) -> float:
        return self.producer_ts + self.duration_ms / 1000.0


@dataclass(frozen=True)
class Ack:
    """One PutMedia acknowledgement (serialised as one JSON line by the front doors)."""

    event: str  # BUFFERING | RECEIVED | PERSISTED | ERROR | IDLE
    fragment_timecode: int | None = None
    fragment_number: str | None = None
    error_id: int | None = None
    message: str | None = None

    def to_wire(self) -> dict[str, object]:
        doc: dict[str, object] = {"EventType": self.event}
        if self.fragment_timecode is not None:
            doc["FragmentTimecode"] = self.fragment_timecode
        if self.fragment_number is not None:
            doc["FragmentNumber"] = self.fragment_number
        if self.error_id is not None:
            doc["ErrorId"] = self.error_id
        if self.message:
            doc["Message"] = self.message
        return doc
