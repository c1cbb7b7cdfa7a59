"""The streams capability: streams CRUD, ingest sessions, archived reads (media, clips, images, HLS)."""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from videolens.backends.blobs.base import BlobStore
from videolens.backends.metadata.database import Database
from videolens.media import mp4_clip, thumbnails
from videolens.runtime.settings import Settings
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.pagination import decode_token, encode_token
from videolens.services.streams import identifiers
from videolens.services.streams.catalog import StreamCatalog
from videolens.services.streams.errors import NoDataRetentionError
from videolens.services.streams.fragments import FragmentIndex, TimeKind
from videolens.services.streams.hls_playback import HlsPlayback
from videolens.services.streams.hls_sessions import HlsTokens
from videolens.services.streams.ingest import IngestLimits, IngestSession, TimecodeType
from videolens.services.streams.models import FragmentInfo, StreamInfo
from videolens.services.streams.pull_manager import PullManager
from videolens.services.streams.reading import (
    StartSelector,
    clip_chunks,
    media_document,
    start_seq,
    tail,
)

#: GetClip limits (KVS: first 100 MB or 200 fragments of the range)
CLIP_MAX_FRAGMENTS = 200
CLIP_MAX_BYTES = 100 * 1024 * 1024
#: retention 0 still keeps a short live buffer for GetMedia (KVS: ~5 minutes)
BUFFER_SECONDS = 300


@dataclass(frozen=True)
class ImageResult:
    timestamp: float  # epoch seconds
    data: bytes | None  # None: no media at that time
    error: str | None = None


class StreamsService(HlsPlayback):
    """Streams: control plane, ingest, GetMedia, archived media; HLS playback in `hls_playback.py`."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        blobs: BlobStore,
        *,
        live_idle_s: float = 3.0,
        max_idle_s: float = 30.0,
        limits: IngestLimits | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = StreamCatalog(db, blobs, settings.region, settings.account_id)
        self.index = FragmentIndex(db, blobs)
        self.tokens = HlsTokens(settings.data_dir / "keys" / "hls-session.key")
        self.limits = limits or IngestLimits()
        self.live_idle_s = live_idle_s
        self.max_idle_s = max_idle_s
        self._changed = threading.Condition()
        #: bumped under `_changed` on every change: a waiter that read it before looking misses none
        self._generation = 0
        #: called after each local change (fragment persisted, stream deleted): the container publishes
        #: it to the other nodes, whose `wake_readers` then wakes their GetMedia / processor readers
        self.on_change: list[Callable[[], None]] = []
        self._active: dict[int, int] = {}
        self.pulls = PullManager(
            lambda stream: self.ingest(name=stream),
            db,
            lambda stream: self.catalog.row_id(stream)[0],
            lease_seconds=settings.stream_pull_lease_seconds,
        )

    # -- control plane (thin pass-through to the catalog) -------------------------------------------

    def create_stream(self, name: str, **options: Any) -> StreamInfo:
        return self.catalog.create(name, **options)

    def describe_stream(self, name: str | None = None, arn: str | None = None) -> StreamInfo:
        return self.catalog.get(name, arn)

    def delete_stream(self, arn: str, current_version: str | None = None) -> None:
        self.catalog.delete(arn, current_version)
        # its attached pull source went with it (ON DELETE CASCADE): stop it now if it runs here
        self.pulls.drop_local(identifiers.name_from_arn(arn))
        self._notify()

    # -- ingest -------------------------------------------------------------------------------------

    @contextmanager
    def ingest(
        self,
        *,
        name: str | None = None,
        arn: str | None = None,
        timecode_type: TimecodeType = "RELATIVE",
        producer_start: float | None = None,
    ) -> Iterator[IngestSession]:
        """An ingest session for one producer connection; live readers wait for it while it is open."""
        stream_id, info = self.catalog.row_id(name, arn)
        session = IngestSession(
            self.index,
            stream_id,
            stream_name=info.name,
            buffer_only=info.retention_hours == 0,
            timecode_type=timecode_type,
            producer_start=producer_start,
            limits=self.limits,
            on_fragment=lambda _f: self._notify(),
        )
        with self._changed:
            self._active[stream_id] = self._active.get(stream_id, 0) + 1
        try:
            yield session
        finally:
            if not session.finished:
                session.abort()
            with self._changed:
                self._active[stream_id] -= 1
                self._changed.notify_all()

    def _notify(self) -> None:
        self.wake_readers()
        for hook in self.on_change:
            hook()

    def wake_readers(self) -> None:
        """Wake this process's live readers so they look for new fragments now."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def _wait(self, seconds: float) -> None:
        with self._changed:
            self._changed.wait(seconds)

    # -- GetMedia -----------------------------------------------------------------------------------

    def media(
        self, selector: StartSelector, *, name: str | None = None, arn: str | None = None, follow: bool = True
    ) -> Iterator[bytes]:
        """GetMedia: fragment documents from the selector on; with follow, keep tailing while live.

        The start is resolved before the first byte goes out, so selector errors surface as errors.
        """
        stream_id, _info = self.catalog.row_id(name, arn)
        after = start_seq(self.index, stream_id, selector)

        def keep_waiting(idle: float) -> bool:
            if not follow or idle > self.max_idle_s:
                return False
            with self._changed:
                if self._active.get(stream_id, 0) > 0:
                    return True
            latest = self.index.latest(stream_id)
            # a producer in another process is live if it stored something a moment ago
            return latest is not None and time.time() - latest.server_ts < self.live_idle_s

        def documents() -> Iterator[bytes]:
            for fragment in tail(self.index, stream_id, after, wait=self._wait, keep_waiting=keep_waiting):
                try:
                    yield media_document(
                        self.index, fragment, now=time.time(), next_token=fragment.fragment_number
                    )
                except NotFoundError:
                    continue  # expired between listing and reading

        return documents()

    def media_for_fragments(
        self, numbers: Sequence[str], *, name: str | None = None, arn: str | None = None
    ) -> Iterator[bytes]:
        stream_id, _info = self.catalog.row_id(name, arn)
        for number in numbers:
            identifiers.fragment_id(number)
        fragments = self.index.by_numbers(stream_id, numbers)

        def documents() -> Iterator[bytes]:
            for fragment in fragments:
                yield media_document(self.index, fragment, now=time.time(), next_token="", fragment_list=True)

        return documents()

    # -- in-process tailing (live processors) --------------------------------------------------------

    def fragments_after(
        self,
        after: str | None,
        *,
        name: str | None = None,
        arn: str | None = None,
        limit: int = 16,
        inclusive: bool = False,
    ) -> list[FragmentInfo]:
        """Stored fragments after fragment number `after` (from it if inclusive; None: from the first)."""
        stream_id, _info = self.catalog.row_id(name, arn)
        seq = -1 if after is None else self.index.by_number(stream_id, after).seq - (1 if inclusive else 0)
        return self.index.after_seq(stream_id, seq, limit)

    def first_fragment_at(
        self, producer_ts: float, *, name: str | None = None, arn: str | None = None
    ) -> FragmentInfo | None:
        stream_id, _info = self.catalog.row_id(name, arn)
        return self.index.first_at(stream_id, "PRODUCER_TIMESTAMP", producer_ts)

    def latest_fragment(self, *, name: str | None = None, arn: str | None = None) -> FragmentInfo | None:
        stream_id, _info = self.catalog.row_id(name, arn)
        return self.index.latest(stream_id)

    def read_fragment(self, fragment: FragmentInfo) -> bytes:
        """The stored fragment (a self-contained Matroska document: header, tracks, one cluster)."""
        return self.index.read(fragment)

    def change_generation(self) -> int:
        """A counter of in-process changes (fragments persisted, streams deleted); see wait_for_fragment."""
        with self._changed:
            return self._generation

    def wait_for_fragment(self, seconds: float, since: int | None = None) -> None:
        """Sleep until a fragment is persisted in this process (or a stream deleted), at most `seconds`.

        With `since` (a `change_generation()` read before the caller last looked), return at once if
        something changed meanwhile: a fragment persisted between the look and the wait is not missed.
        """
        with self._changed:
            if since is not None and self._generation != since:
                return
            self._changed.wait(seconds)

    # -- archived media -----------------------------------------------------------------------------

    def _archived(self, name: str | None, arn: str | None) -> tuple[int, StreamInfo]:
        stream_id, info = self.catalog.row_id(name, arn)
        if info.retention_hours == 0:
            raise NoDataRetentionError(f"stream {info.name} does not retain data")
        return stream_id, info

    def list_fragments(
        self,
        *,
        name: str | None = None,
        arn: str | None = None,
        kind: TimeKind | None = None,
        start: float | None = None,
        end: float | None = None,
        max_results: int = 1000,
        next_token: str | None = None,
    ) -> tuple[list[FragmentInfo], str | None]:
        stream_id, _info = self._archived(name, arn)
        after_id = int(decode_token("fragments", next_token)["after"]) if next_token else 0
        low = -math.inf if start is None else start
        high = math.inf if end is None else end
        if start is not None and end is not None and start > end:
            raise InvalidParameterError("StartTimestamp must not be after EndTimestamp")
        rows = self.index.in_range(
            stream_id, kind or "SERVER_TIMESTAMP", low, high, after_id=after_id, limit=max_results + 1
        )
        rows = [r for r in rows if not r.buffer_only]
        more = len(rows) > max_results
        rows = rows[:max_results]
        token = None
        if more:
            token = encode_token("fragments", {"after": identifiers.fragment_id(rows[-1].fragment_number)})
        return rows, token

    def _range(
        self, stream_id: int, kind: TimeKind, start: float, end: float, limit: int
    ) -> list[FragmentInfo]:
        if start >= end:
            raise InvalidParameterError("StartTimestamp must be before EndTimestamp")
        rows = self.index.in_range(stream_id, kind, start, end, limit=limit, overlap=True)
        if kind == "SERVER_TIMESTAMP":
            rows = [r for r in rows if r.server_ts <= end]
        return [r for r in rows if not r.buffer_only]

    def clip(
        self, *, name: str | None = None, arn: str | None = None, kind: TimeKind, start: float, end: float
    ) -> tuple[Iterator[bytes], mp4_clip.ClipInfo]:
        """GetClip: the fragments overlapping [start, end] remuxed to one MP4, streamed in chunks."""
        stream_id, _info = self._archived(name, arn)
        fragments = self._range(stream_id, kind, start, end, CLIP_MAX_FRAGMENTS)
        if not fragments:
            raise NotFoundError("no fragments in the requested range")
        return clip_chunks(self.index, fragments, max_bytes=CLIP_MAX_BYTES)

    def images(
        self,
        *,
        name: str | None = None,
        arn: str | None = None,
        kind: TimeKind,
        start: float,
        end: float,
        interval_ms: int,
        fmt: str,
        width: int | None = None,
        height: int | None = None,
        jpeg_quality: int = 80,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ImageResult], str | None]:
        """GetImages: one image per interval tick; with SERVER_TIMESTAMP, ticks map through each fragment."""
        if interval_ms < 200:
            raise InvalidParameterError("SamplingInterval must be at least 200 ms")
        stream_id, _info = self._archived(name, arn)
        begin = start if next_token is None else int(decode_token("images", next_token)["at_ms"]) / 1000.0
        fragments = self._range(stream_id, kind, begin, end, 1000)
        results: list[ImageResult] = []
        cursor = begin * 1000.0
        for fragment in fragments:
            # frame times in the blobs are producer epoch ms; map the wanted window onto them
            shift = (
                0.0 if kind == "PRODUCER_TIMESTAMP" else (fragment.server_ts - fragment.producer_ts) * 1000.0
            )
            blob = self.index.read(fragment)
            images = thumbnails.sample_images(
                [blob],
                start_ms=cursor - shift,
                end_ms=end * 1000.0 - shift,
                interval_ms=interval_ms,
                fmt=fmt,
                width=width,
                height=height,
                jpeg_quality=jpeg_quality,
                limit=max_results - len(results),
            )
            for image in images:
                results.append(ImageResult((image.timestamp_ms + shift) / 1000.0, image.data))
                ticks = math.floor((image.timestamp_ms + shift - cursor) / interval_ms) + 1
                cursor += ticks * interval_ms
            if len(results) >= max_results:
                token = encode_token("images", {"at_ms": int(cursor)}) if cursor <= end * 1000.0 else None
                return results, token
        return results, None

    # -- retention ----------------------------------------------------------------------------------

    def sweep(self, now: float | None = None) -> int:
        """Delete fragments past their stream's retention (retention 0: past the live buffer)."""
        now = time.time() if now is None else now
        removed = 0
        after = 0
        while True:
            streams, more = self.catalog.list(max_results=500, after_id=after)
            for info in streams:
                stream_id, _ = self.catalog.row_id(info.name)
                keep = BUFFER_SECONDS if info.retention_hours == 0 else info.retention_hours * 3600
                while True:
                    count = self.index.delete_older(stream_id, now - keep)
                    removed += count
                    if count < 1000:
                        break
            if more is None:
                return removed
            after = more


def clip_to_bytes(chunks: Iterator[bytes]) -> bytes:
    out = io.BytesIO()
    for chunk in chunks:
        out.write(chunk)
    return out.getvalue()
