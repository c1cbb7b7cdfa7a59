"""Records of the sightings capability; `SightingsSink` takes each finished face track of an analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class TrackSighting:
    #: "stream" (source: KVS stream ARN, times: producer epoch seconds) or "video" (s3://bucket/key, s)
    source_kind: str
    source: str
    start_s: float
    end_s: float
    #: (quality, descriptor) of the track's looks; the sink keeps the best few
    descriptors: list[tuple[float, np.ndarray]]
    fragments: list[str] = field(default_factory=list)
    #: JPEG of the track's best look
    thumbnail: bytes | None = None


class SightingsSink(Protocol):
    def record(self, track: TrackSighting) -> str | None:
        """Keep one track; returns its sighting id (None when it had no usable descriptor)."""
        ...
