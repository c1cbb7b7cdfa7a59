"""Records of the live capability: a stream processor as stored and described."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["STOPPED", "STARTING", "RUNNING", "STOPPING", "FAILED", "UPDATING"]
LagPolicy = Literal["catch-up", "live"]
LAG_POLICIES = ("catch-up", "live")


@dataclass(frozen=True)
class ProcessorInfo:
    name: str
    arn: str
    kind: str
    input_arn: str
    #: Input, Output, Settings, RoleArn, RegionsOfInterest, NotificationChannel, ... as given
    definition: dict[str, Any]
    status: Status
    status_message: str | None
    desired: str
    lag_policy: LagPolicy
    session_id: str | None
    start_after: str | None
    created_at: datetime
    updated_at: datetime
    fragments_done: int = 0
    fragments_skipped: int = 0
    records_out: int = 0
    lag_fragments: int = 0
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> dict[str, Any]:
        value: dict[str, Any] = self.definition.get("Settings") or {}
        return value

    @property
    def output_arn(self) -> str | None:
        stream = (self.definition.get("Output") or {}).get("KinesisDataStream") or {}
        arn: str | None = stream.get("Arn")
        return arn
