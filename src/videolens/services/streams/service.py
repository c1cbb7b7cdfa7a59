"""The streams capability: streams CRUD, ingest sessions, archived reads (media, clips, images, HLS)."""

from __future__ import annotations

import io
import math
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from videolens.backends.blobs.base import BlobStore
from videolens.backends.metadata.database import Database
from videolens.media import hls, mp4_clip, thumbnails
from videolens.runtime.settings import Settings
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.streams import identifiers
from videolens.services.streams.catalog import StreamCatalog
from videolens.services.streams.errors import (
    MissingCodecPrivateDataError,
    NoDataRetentionError,
    UnsupportedMediaTypeError,
)
from videolens.services.streams.fragments import FragmentIndex, TimeKind
from videolens.services.streams.hls_sessions import HlsSession, HlsTokens
from videolens.services.streams.ingest import IngestLimits, IngestSession, TimecodeType
from videolens.services.streams.models import FragmentInfo, StreamInfo
from videolens.services.streams.pull_manager import PullManager
from videolens.services.streams.reading import StartSelector, media_document, start_seq, tail

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


class StreamsService:
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
        with self._changed:
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
        after_id = identifiers.decode_token(next_token) if next_token else 0
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
        token = identifiers.encode_token(identifiers.fragment_id(rows[-1].fragment_number)) if more else None
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
        total = 0
        chosen: list[FragmentInfo] = []
        for fragment in fragments:
            total += fragment.size
            if chosen and total > CLIP_MAX_BYTES:
                break
            chosen.append(fragment)
        spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - handed to the iterator
        try:
            info = mp4_clip.write_mp4((self.index.read(f) for f in chosen), spool)
        except mp4_clip.ClipError as exc:
            spool.close()
            if exc.kind == "missing-codec-private":
                raise MissingCodecPrivateDataError(str(exc)) from exc
            raise UnsupportedMediaTypeError(str(exc)) from exc
        spool.seek(0)

        def chunks() -> Iterator[bytes]:
            try:
                while True:
                    block = spool.read(256 * 1024)
                    if not block:
                        return
                    yield block
            finally:
                spool.close()

        return chunks(), info

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
        begin = start if next_token is None else identifiers.decode_token(next_token) / 1000.0
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
                token = identifiers.encode_token(int(cursor)) if cursor <= end * 1000.0 else None
                return results, token
        return results, None

    # -- HLS ----------------------------------------------------------------------------------------

    def hls_session(
        self,
        *,
        name: str | None = None,
        arn: str | None = None,
        mode: str = "LIVE",
        kind: TimeKind = "SERVER_TIMESTAMP",
        start: float | None = None,
        end: float | None = None,
        expires: int = 300,
        container: str = "MPEG_TS",
        max_results: int | None = None,
        discontinuity: str = "ALWAYS",
        issuer: str | None = None,
    ) -> str:
        stream_id, info = self._archived(name, arn)
        if mode == "ON_DEMAND" and (start is None or end is None):
            raise InvalidParameterError("ON_DEMAND needs a TimestampRange with start and end")
        if mode in ("LIVE_REPLAY",) and start is None:
            raise InvalidParameterError("LIVE_REPLAY needs a StartTimestamp")
        if mode == "LIVE" and (start is not None or end is not None):
            raise InvalidParameterError("LIVE takes no TimestampRange")
        latest = self.index.latest(stream_id)
        first = self.index.first_at(stream_id, kind, start) if start is not None else latest
        if first is None and mode != "LIVE":
            raise NotFoundError("no fragments in the requested range")
        base = math.floor((first.producer_ts if first else time.time()) - 60)
        session = HlsSession(
            stream=info.name,
            mode=mode,
            kind=kind,
            start=start,
            end=end,
            expires=time.time() + expires,
            container=container,
            max_results=max_results or (5 if mode == "LIVE" else 1000),
            base=base,
            discontinuity=discontinuity,
            issuer=issuer,
        )
        return self.tokens.issue(session)

    def _hls_fragments(self, session: HlsSession) -> tuple[list[FragmentInfo], bool]:
        stream_id, _info = self._archived(session.stream, None)
        if session.mode == "LIVE":
            latest = self.index.latest(stream_id)
            if latest is None:
                return [], False
            rows = self.index.after_seq(
                stream_id, max(-1, latest.seq - session.max_results), session.max_results
            )
            return [r for r in rows if not r.buffer_only], False
        assert session.start is not None
        end = session.end if session.end is not None else math.inf
        rows = self._range(stream_id, session.kind, session.start, end, session.max_results)  # type: ignore[arg-type]
        return rows, session.mode == "ON_DEMAND"

    def hls_master(self, token: str, media_uri: str) -> str:
        session = self.tokens.read(token)
        rows, _ended = self._hls_fragments(session)
        size = next(((r.width, r.height) for r in reversed(rows) if r.width), (None, None))
        bandwidth = max((int(r.size * 8 / max(r.duration_ms / 1000, 0.001)) for r in rows), default=1_000_000)
        return hls.master_playlist(media_uri, bandwidth=bandwidth, width=size[0], height=size[1])

    def hls_media(self, token: str, segment_uri: str) -> str:
        """Media playlist; `segment_uri` is a format string with {number}."""
        session = self.tokens.read(token)
        rows, ended = self._hls_fragments(session)
        segments = []
        previous: FragmentInfo | None = None
        for row in rows:
            # a new producer session (or a hole) breaks the time line: tell the player
            gap = previous is not None and abs(row.producer_ts - previous.end_producer_ts) > 0.5
            new_session = previous is not None and row.session_id != previous.session_id
            discontinuity = session.discontinuity != "NEVER" and (gap or new_session)
            segments.append(
                hls.Segment(
                    segment_uri.format(number=row.fragment_number), row.duration_ms / 1000.0, discontinuity
                )
            )
            previous = row
        return hls.media_playlist(
            segments,
            media_sequence=rows[0].seq if rows else 0,
            ended=ended,
            playlist_type="VOD" if ended else None,
        )

    def hls_segment(self, token: str, number: str) -> bytes:
        session = self.tokens.read(token)
        stream_id, _info = self._archived(session.stream, None)
        identifiers.fragment_id(number)
        fragment = self.index.by_number(stream_id, number)
        return hls.fragment_to_ts(self.index.read(fragment), offset_s=session.base)

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
