"""The fragment index: fragment blobs in the blob store, their times and numbers in the database."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from videolens.backends.blobs.base import BlobNotFoundError, BlobStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.streams import VideoFragmentRow, VideoStreamRow
from videolens.media.mkv_fragmenter import Fragment
from videolens.services.errors import NotFoundError
from videolens.services.streams import identifiers
from videolens.services.streams.models import (
    FragmentInfo,
    TimeKind,  # noqa: F401 (re-export)
)


def to_info(row: VideoFragmentRow) -> FragmentInfo:
    return FragmentInfo(
        stream_id=row.stream_id,
        seq=row.seq,
        fragment_number=row.fragment_number,
        producer_ts=row.producer_ts,
        server_ts=row.server_ts,
        duration_ms=row.duration_ms,
        size=row.size,
        blob_key=row.blob_key,
        cluster_offset=row.cluster_offset,
        session_id=row.session_id,
        buffer_only=bool(row.buffer_only),
        width=row.width,
        height=row.height,
    )


class FragmentIndex:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    def store(
        self,
        stream_id: int,
        fragment: Fragment,
        *,
        producer_ts: float,
        server_ts: float,
        session_id: str,
        buffer_only: bool,
        width: int | None = None,
        height: int | None = None,
    ) -> FragmentInfo:
        """Write the blob, then index it; only an indexed fragment exists for readers."""
        data = fragment.to_bytes()
        key = f"streams/{stream_id}/{uuid.uuid4().hex}.mkv"
        self.blobs.put_bytes(key, data)
        try:
            with self.db.session() as s:
                stream = s.scalar(
                    select(VideoStreamRow).where(VideoStreamRow.id == stream_id).with_for_update()
                )
                if stream is None:
                    raise NotFoundError("stream was deleted")
                seq = stream.fragment_count
                stream.fragment_count = seq + 1
                row = VideoFragmentRow(
                    stream_id=stream_id,
                    seq=seq,
                    fragment_number=f"pending-{key}",
                    producer_ts=producer_ts,
                    server_ts=server_ts,
                    duration_ms=max(1, round(fragment.duration_ms)),
                    size=len(data),
                    blob_key=key,
                    cluster_offset=fragment.cluster_offset,
                    session_id=session_id,
                    buffer_only=1 if buffer_only else 0,
                    width=width,
                    height=height,
                )
                s.add(row)
                s.flush()
                row.fragment_number = identifiers.fragment_number(row.id)
                info = to_info(row)
        except BaseException:
            self._delete_blob(key)
            raise
        return info

    # -- queries ------------------------------------------------------------------------------------

    def _fetch(self, query: Select[Any]) -> list[FragmentInfo]:
        with self.db.session() as s:
            return [to_info(r) for r in s.scalars(query)]

    def in_range(
        self,
        stream_id: int,
        kind: TimeKind,
        start: float,
        end: float,
        *,
        after_id: int = 0,
        limit: int = 1000,
        overlap: bool = False,
    ) -> list[FragmentInfo]:
        """Fragments whose start lies in [start, end] (or, with overlap, that overlap it), oldest first."""
        column = VideoFragmentRow.producer_ts if kind == "PRODUCER_TIMESTAMP" else VideoFragmentRow.server_ts
        query = select(VideoFragmentRow).where(
            VideoFragmentRow.stream_id == stream_id, VideoFragmentRow.id > after_id, column <= end
        )
        if overlap and kind == "PRODUCER_TIMESTAMP":
            # a fragment lasts at most a few tens of seconds: bound the scan, then filter exactly
            query = query.where(column >= start - 60)
        else:
            query = query.where(column >= start)
        rows = self._fetch(query.order_by(VideoFragmentRow.id).limit(limit if not overlap else limit + 64))
        if overlap:
            rows = [r for r in rows if r.producer_ts >= start or r.end_producer_ts > start][:limit]
        return rows

    def after_seq(self, stream_id: int, seq: int, limit: int = 16) -> list[FragmentInfo]:
        query = select(VideoFragmentRow).where(
            VideoFragmentRow.stream_id == stream_id, VideoFragmentRow.seq > seq
        )
        return self._fetch(query.order_by(VideoFragmentRow.seq).limit(limit))

    def first_at(self, stream_id: int, kind: TimeKind, ts: float) -> FragmentInfo | None:
        """The first fragment that contains or starts after ts."""
        if kind == "PRODUCER_TIMESTAMP":
            candidates = self.in_range(stream_id, kind, ts, float("inf"), limit=1, overlap=True)
        else:
            candidates = self.in_range(stream_id, kind, ts, float("inf"), limit=1)
        return candidates[0] if candidates else None

    def oldest(self, stream_id: int) -> FragmentInfo | None:
        rows = self.after_seq(stream_id, -1, 1)
        return rows[0] if rows else None

    def latest(self, stream_id: int) -> FragmentInfo | None:
        query = select(VideoFragmentRow).where(VideoFragmentRow.stream_id == stream_id)
        rows = self._fetch(query.order_by(VideoFragmentRow.seq.desc()).limit(1))
        return rows[0] if rows else None

    def by_number(self, stream_id: int, number: str) -> FragmentInfo:
        query = select(VideoFragmentRow).where(
            VideoFragmentRow.stream_id == stream_id, VideoFragmentRow.fragment_number == number
        )
        rows = self._fetch(query)
        if not rows:
            raise NotFoundError(f"fragment {number} not found")
        return rows[0]

    def by_numbers(self, stream_id: int, numbers: Sequence[str]) -> list[FragmentInfo]:
        query = select(VideoFragmentRow).where(
            VideoFragmentRow.stream_id == stream_id, VideoFragmentRow.fragment_number.in_(list(numbers))
        )
        found = {r.fragment_number: r for r in self._fetch(query)}
        missing = [n for n in numbers if n not in found]
        if missing:
            raise NotFoundError(f"fragments not found: {', '.join(missing[:5])}")
        return [found[n] for n in numbers]

    def read(self, fragment: FragmentInfo) -> bytes:
        try:
            with self.blobs.open(fragment.blob_key) as f:
                return f.read()
        except BlobNotFoundError as exc:
            raise NotFoundError(f"fragment {fragment.fragment_number} is no longer stored") from exc

    # -- retention ----------------------------------------------------------------------------------

    def delete_older(
        self, stream_id: int, cutoff_server_ts: float, *, buffer_only: bool | None = None
    ) -> int:
        with self.db.session() as s:
            query = select(VideoFragmentRow).where(
                VideoFragmentRow.stream_id == stream_id, VideoFragmentRow.server_ts < cutoff_server_ts
            )
            if buffer_only is not None:
                query = query.where(VideoFragmentRow.buffer_only == (1 if buffer_only else 0))
            rows = list(s.scalars(query.limit(1000)))
            keys = [r.blob_key for r in rows]
            for row in rows:
                s.delete(row)
        for key in keys:
            self._delete_blob(key)
        return len(keys)

    def _delete_blob(self, key: str) -> None:
        with contextlib.suppress(BlobNotFoundError):
            self.blobs.delete(key)
