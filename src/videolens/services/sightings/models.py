"""Records of the sightings capability; `SightingsSink` takes each finished face track of an analysis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import cv2
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
    #: how long it is kept (streams: the stream's retention); None: the stored-video default
    retention_s: float | None = None


def face_thumbnail(
    image_bgr: np.ndarray, left: float, top: float, width: float, height: float, margin: float = 0.25
) -> bytes | None:
    """JPEG of a face box (ratios of the frame) with a margin around it; None for an empty crop."""
    h, w = image_bgr.shape[:2]
    mx, my = width * margin, height * margin
    x1, y1 = max(0, int((left - mx) * w)), max(0, int((top - my) * h))
    x2, y2 = min(w, int((left + width + mx) * w)), min(h, int((top + height + my) * h))
    if x2 <= x1 or y2 <= y1:
        return None
    ok, data = cv2.imencode(".jpg", image_bgr[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, 90])
    return data.tobytes() if ok else None


class SightingsSink(Protocol):
    def record(self, track: TrackSighting) -> str | None:
        """Keep one track; returns its sighting id (None when it had no usable descriptor)."""
        ...


#: a track not seen for this long (seconds of video) is finished and handed to the sink
TRACK_GAP_S = 2.0


class TrackAccumulator:
    """Collects a live analysis' looks per track id; hands each finished track to the sink."""

    def __init__(self, sink: SightingsSink, source_kind: str, source: str, retention_s: float | None) -> None:
        self.sink = sink
        self.source_kind = source_kind
        self.source = source
        self.retention_s = retention_s
        self._open: dict[int, TrackSighting] = {}
        self._best: dict[int, float] = {}
        self._last: dict[int, float] = {}

    def look(
        self,
        track_id: int,
        t: float,
        confidence: float,
        descriptor: np.ndarray | None,
        fragment: str,
        thumbnail: Callable[[], bytes | None],
    ) -> None:
        """One look at a track; `descriptor` only on the looks that embedded it (the others extend the
        track's time range and fragments)."""
        track = self._open.get(track_id)
        if track is None:
            track = TrackSighting(self.source_kind, self.source, t, t, [], retention_s=self.retention_s)
            self._open[track_id] = track
        track.end_s = max(track.end_s, t)
        if descriptor is not None:
            track.descriptors.append((confidence, np.asarray(descriptor, dtype=np.float32)))
            # the best few are enough; the sink keeps 3
            track.descriptors = sorted(track.descriptors, key=lambda qd: -qd[0])[:8]
        if fragment and fragment not in track.fragments:
            track.fragments.append(fragment)
        if confidence > self._best.get(track_id, -1.0):
            self._best[track_id] = confidence
            track.thumbnail = thumbnail()
        self._last[track_id] = t

    def finish_older(self, now: float) -> None:
        for track_id in [tid for tid, last in self._last.items() if now - last > TRACK_GAP_S]:
            self._finish(track_id)

    def close(self) -> None:
        for track_id in list(self._open):
            self._finish(track_id)

    def _finish(self, track_id: int) -> None:
        track = self._open.pop(track_id)
        self._best.pop(track_id, None)
        self._last.pop(track_id, None)
        self.sink.record(track)
