"""One ingest session (a PutMedia connection or a pull): Matroska bytes in, stored fragments + acks out."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from videolens.media.mkv_fragmenter import Fragment, Fragmenter, FragmentError
from videolens.media.mkv_reader import MkvError, MkvReader, SegmentInfo, StreamEnd, Tracks
from videolens.runtime import metrics
from videolens.services.errors import NotFoundError
from videolens.services.streams.fragments import FragmentIndex
from videolens.services.streams.models import (
    Ack,
    FragmentInfo,
    TimecodeType,  # noqa: F401 (re-export)
)

log = logging.getLogger(__name__)


# PutMedia ErrorId values (KVS producer documentation)
READ_ERROR = 4000
FRAGMENT_TOO_LARGE = 4001
FRAGMENT_TOO_LONG = 4002
TIMECODE_BACKWARDS = 4004
INVALID_MKV = 4006
INVALID_PRODUCER_TIMESTAMP = 4007
STREAM_DELETED = 4008
UNKNOWN_TRACK = 4010
INTERNAL_ERROR = 5000
PERSIST_FAILED = 5001

_FRAGMENT_ERROR_IDS = {
    "timecode-backwards": TIMECODE_BACKWARDS,
    "too-large": FRAGMENT_TOO_LARGE,
    "too-long": FRAGMENT_TOO_LONG,
    "unknown-track": UNKNOWN_TRACK,
    "no-header": INVALID_MKV,
}


@dataclass(frozen=True)
class IngestLimits:
    max_fragment_bytes: int = 50 * 1024 * 1024
    max_fragment_duration_ms: float = 10_000
    min_fragment_duration_ms: float = 1000


class IngestSession:
    """Not thread-safe: one producer connection feeds it from one thread at a time."""

    def __init__(
        self,
        index: FragmentIndex,
        stream_id: int,
        *,
        stream_name: str,
        buffer_only: bool,
        timecode_type: TimecodeType = "RELATIVE",
        producer_start: float | None = None,
        limits: IngestLimits | None = None,
        on_fragment: Callable[[FragmentInfo], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self.stream_id = stream_id
        self.stream_name = stream_name
        self.buffer_only = buffer_only
        self.timecode_type = timecode_type
        self.producer_start = clock() if producer_start is None else producer_start
        self.session_id = str(uuid.uuid4())
        metrics.INGEST_SESSIONS.labels(stream_name).inc()
        self.limits = limits or IngestLimits()
        self.on_fragment = on_fragment
        self.clock = clock
        self.reader = MkvReader()
        self.fragmenter = Fragmenter(
            min_duration_ms=self.limits.min_fragment_duration_ms,
            max_duration_ms=self.limits.max_fragment_duration_ms,
            max_fragment_bytes=self.limits.max_fragment_bytes,
        )
        self.failed = False
        self.finished = False
        # a count, not a list: a pull session can live for weeks and memory must stay bounded
        self.persisted_count = 0
        self.bytes_received = 0
        self._buffering: int | None = None
        self._warned_leading = False
        self._size: tuple[int | None, int | None] = (None, None)

    # -- input --------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Ack]:
        if self.failed or self.finished or not data:
            return []
        self.bytes_received += len(data)
        acks: list[Ack] = []
        try:
            for event in self.reader.feed(data):
                self._event(event, acks)
        except (MkvError, FragmentError) as exc:
            acks.append(self._fail(exc))
        return acks

    def finish(self) -> list[Ack]:
        """The producer ended its body: store the last GOP, or report it cut off mid-cluster."""
        if self.failed or self.finished:
            return []
        self.finished = True
        acks: list[Ack] = []
        try:
            for event in self.reader.close():
                if isinstance(event, StreamEnd) and not event.complete:
                    timecode = self.fragmenter.pending_start
                    if timecode is None:
                        timecode = event.incomplete_cluster_timecode
                    dropped = self.fragmenter.discard()
                    log.warning(
                        "stream %s: producer stopped mid-cluster, %d frames dropped",
                        self.stream_name,
                        dropped,
                    )
                    acks.append(
                        Ack("ERROR", timecode, error_id=READ_ERROR, message="input ended inside a cluster")
                    )
                    return acks
                self._event(event, acks)
            for fragment in self.fragmenter.flush():
                acks.extend(self._persist(fragment))
        except (MkvError, FragmentError) as exc:
            acks.append(self._fail(exc))
        return acks

    def abort(self) -> int:
        """The connection is gone: drop the GOP in progress (never acknowledged as persisted)."""
        self.finished = True
        return self.fragmenter.discard()

    # -- internals ----------------------------------------------------------------------------------

    def _event(self, event: object, acks: list[Ack]) -> None:
        if isinstance(event, SegmentInfo) and self.timecode_type == "RELATIVE":
            # fragments carry absolute producer time, as GetMedia's clusters do
            self.fragmenter.timecode_offset = round(self.producer_start * 1e9 / event.timecode_scale)
        if isinstance(event, Tracks):
            video = next((t for t in event.tracks if t.is_video), None)
            if video is not None:
                self._size = (video.width, video.height)
        for fragment in self.fragmenter.feed(event):  # type: ignore[arg-type]
            acks.extend(self._persist(fragment))
        if self.fragmenter.skipped_leading_blocks and not self._warned_leading:
            self._warned_leading = True
            acks.append(
                Ack(
                    "ERROR",
                    None,
                    error_id=INVALID_MKV,
                    message="video does not start with a key frame; "
                    "frames before the first key frame were dropped",
                )
            )
        start = self.fragmenter.pending_start
        if start is not None and start != self._buffering:
            self._buffering = start
            acks.append(Ack("BUFFERING", start))

    def _producer_ts(self, fragment: Fragment) -> float:
        seconds = fragment.timecode * fragment.timecode_scale / 1e9
        return self.producer_start + seconds if self.timecode_type == "RELATIVE" else seconds

    def _persist(self, fragment: Fragment) -> list[Ack]:
        if fragment.over_max_duration:
            log.warning(
                "stream %s: fragment at %d lasts %.0f ms (> %.0f ms); key frames too far apart",
                self.stream_name,
                fragment.timecode,
                fragment.duration_ms,
                self.limits.max_fragment_duration_ms,
            )
        try:
            info = self.index.store(
                self.stream_id,
                fragment,
                producer_ts=self._producer_ts(fragment),
                server_ts=self.clock(),
                session_id=self.session_id,
                buffer_only=self.buffer_only,
                width=self._size[0],
                height=self._size[1],
            )
        except NotFoundError:
            self.failed = True
            return [Ack("ERROR", fragment.timecode, error_id=STREAM_DELETED, message="stream was deleted")]
        except Exception:  # noqa: BLE001 - the producer must hear about it, the log keeps the cause
            log.exception("stream %s: could not persist a fragment", self.stream_name)
            self.failed = True
            return [Ack("ERROR", fragment.timecode, error_id=PERSIST_FAILED, message="could not persist")]
        self.persisted_count += 1
        metrics.INGEST_FRAGMENTS.labels(self.stream_name).inc()
        metrics.INGEST_BYTES.labels(self.stream_name).inc(info.size)
        if self.on_fragment is not None:
            self.on_fragment(info)
        acks = [Ack("RECEIVED", fragment.timecode, info.fragment_number)]
        if not self.buffer_only:
            acks.append(Ack("PERSISTED", fragment.timecode, info.fragment_number))
        return acks

    def _fail(self, exc: MkvError | FragmentError) -> Ack:
        self.failed = True
        if isinstance(exc, MkvError):
            error_id = FRAGMENT_TOO_LARGE if exc.kind == "too-large" else INVALID_MKV
            timecode = self.fragmenter.pending_start
        else:
            error_id = _FRAGMENT_ERROR_IDS.get(exc.kind, INVALID_MKV)
            timecode = exc.timecode
        self.fragmenter.discard()
        log.info("stream %s: ingest error %d: %s", self.stream_name, error_id, exc)
        return Ack("ERROR", timecode, error_id=error_id, message=str(exc))
