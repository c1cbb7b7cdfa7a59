"""Public records of the analyzers capability: an analyzer's definition (validated) and its state."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from videolens.services.errors import InvalidParameterError

NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,63}$")
#: streams a tag-filtered analyzer may grow to
MAX_STREAMS = 1000


class TagFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=128)
    value: str = Field(max_length=256)


class Sampling(BaseModel):
    """Exactly one of: every Nth decoded frame, key frames only, or a target rate in frames per second."""

    model_config = ConfigDict(extra="forbid")
    every_n_frames: int | None = Field(default=None, ge=1, le=100_000)
    key_frames: bool | None = None
    fps: float | None = Field(default=None, gt=0, le=240)

    @model_validator(mode="after")
    def _one(self) -> Sampling:
        given = [v for v in (self.every_n_frames, self.key_frames or None, self.fps) if v is not None]
        if len(given) != 1:
            raise ValueError("sampling needs exactly one of every_n_frames, key_frames: true or fps")
        return self


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_stream: str = Field(min_length=1, max_length=128)


class AnalyzerSpec(BaseModel):
    """POST /v1/analyzers: what to run, on which streams, how often, where the records go."""

    model_config = ConfigDict(extra="forbid")
    name: str
    model: str = Field(min_length=1, max_length=63)
    streams: list[str] = Field(default_factory=list, max_length=MAX_STREAMS)
    tag_filters: list[TagFilter] = Field(default_factory=list, max_length=50)
    sampling: Sampling = Field(default_factory=lambda: Sampling(key_frames=True))
    output: Output
    #: model calls of one stream in flight at once; a sampled frame waits (catch-up) or is dropped (live)
    max_in_flight: int = Field(default=20, ge=1, le=1000)
    timeout_ms: int = Field(default=20_000, ge=10, le=600_000)
    #: catch-up: every fragment and every sampled frame, lag grows; live: skip to keep up (docs/analyzers.md)
    lag_policy: Literal["catch-up", "live"] = "catch-up"
    #: image encoding sent to a remote model (http, kserve get what they ask; onnx/builtin get pixels)
    content_type: Literal["image/jpeg", "image/png"] = "image/jpeg"

    @model_validator(mode="after")
    def _selects(self) -> AnalyzerSpec:
        if not NAME.match(self.name):
            raise ValueError(f"invalid analyzer name {self.name!r}: 1-64 letters, digits, '_', '.', '-'")
        if not self.streams and not self.tag_filters:
            raise ValueError("an analyzer needs streams, tag_filters or both")
        if len(set(self.streams)) != len(self.streams):
            raise ValueError("streams are listed twice")
        return self

    @staticmethod
    def parse(doc: Any) -> AnalyzerSpec:
        if not isinstance(doc, dict):
            raise InvalidParameterError("an analyzer definition is a JSON object")
        try:
            return AnalyzerSpec.model_validate(doc)
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                where = ".".join(str(p) for p in err.get("loc", ()))
                parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
            raise InvalidParameterError("invalid analyzer: " + "; ".join(parts)) from exc

    def matches(self, tags: dict[str, str]) -> bool:
        """A stream joins when it carries every tag filter (AND), like KIT's tag-based stream selection."""
        return bool(self.tag_filters) and all(tags.get(f.key) == f.value for f in self.tag_filters)


@dataclass(frozen=True)
class StreamState:
    """One (analyzer, stream) unit as GET /v1/analyzers/{name} shows it."""

    stream: str
    status: str
    status_message: str | None
    lease_owner: str | None
    checkpoint_fragment: str | None
    lag_ms: float
    lag_fragments: int
    fragments_done: int
    fragments_skipped: int
    frames_analysed: int
    frames_skipped: int
    records_out: int
    errors: int
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AnalyzerInfo:
    name: str
    spec: AnalyzerSpec
    status: str
    created_at: datetime
    updated_at: datetime
    streams: list[StreamState] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        doc = self.spec.model_dump(mode="json", exclude_none=True)
        doc.update(
            status=self.status,
            created_at=self.created_at.isoformat(),
            updated_at=self.updated_at.isoformat(),
            stream_states=[s.to_dict() for s in self.streams],
        )
        return doc
