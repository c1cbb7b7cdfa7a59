"""HLS playback of the streams capability: sessions, master/media playlists and MPEG-TS segments."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from videolens.media import hls
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.streams import identifiers
from videolens.services.streams.errors import UnsupportedMediaTypeError
from videolens.services.streams.fragments import FragmentIndex
from videolens.services.streams.hls_sessions import HlsSession, HlsTokens
from videolens.services.streams.models import FragmentInfo, StreamInfo, TimeKind


class HlsPlayback:
    """The HLS half of `StreamsService` (a mixin: it shares the service's index, tokens and helpers)."""

    index: FragmentIndex
    tokens: HlsTokens

    if TYPE_CHECKING:  # provided by StreamsService

        def _archived(self, name: str | None, arn: str | None) -> tuple[int, StreamInfo]: ...

        def _range(
            self, stream_id: int, kind: TimeKind, start: float, end: float, limit: int
        ) -> list[FragmentInfo]: ...

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
        try:
            return hls.fragment_to_ts(self.index.read(fragment), offset_s=session.base)
        except hls.RemuxError as exc:
            raise UnsupportedMediaTypeError(f"fragment {number}: {exc}") from exc
