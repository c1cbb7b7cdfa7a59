"""Incremental Matroska parser: feed bytes as they arrive, get header/track/cluster/block events."""

from __future__ import annotations

from dataclasses import dataclass, field

from videolens.media import ebml
from videolens.media.mkv_elements import parse_block, parse_block_group, parse_info, parse_tracks
from videolens.media.mkv_events import (
    Block,
    ClusterEnd,
    ClusterStart,
    EbmlHeader,
    Event,
    MkvError,
    SegmentEnd,
    SegmentInfo,
    SegmentStart,
    StreamEnd,
    TagsElement,
    TrackInfo,
    Tracks,
)

__all__ = [
    "Block",
    "ClusterEnd",
    "ClusterStart",
    "EbmlHeader",
    "Event",
    "MkvError",
    "MkvReader",
    "SegmentEnd",
    "SegmentInfo",
    "SegmentStart",
    "StreamEnd",
    "TagsElement",
    "TrackInfo",
    "Tracks",
]

#: non-cluster elements are buffered whole; anything larger than this is not a sane header
MAX_HEADER_ELEMENT = 16 * 1024 * 1024
#: a single block (frame) larger than this is rejected instead of buffered
MAX_BLOCK = 64 * 1024 * 1024


@dataclass
class _Cluster:
    offset: int
    end: int | None  # absolute end offset, None for unknown size
    size: int | None = None
    timecode: int | None = None
    blocks: int = 0


@dataclass
class MkvReader:
    """Push parser: `feed(bytes) -> events`, then `close() -> events` ending with a StreamEnd."""

    _buf: bytearray = field(default_factory=bytearray)
    _base: int = 0  # absolute stream offset of _buf[0]
    _seen_header: bool = False
    _segment_end: int | None = None
    _in_segment: bool = False
    _cluster: _Cluster | None = None
    _closed: bool = False

    @property
    def bytes_consumed(self) -> int:
        return self._base

    @property
    def in_cluster(self) -> bool:
        return self._cluster is not None

    def feed(self, data: bytes) -> list[Event]:
        if self._closed:
            raise RuntimeError("reader is closed")
        self._buf += data
        events: list[Event] = []
        pos = 0
        try:
            pos = self._parse(events)
        finally:
            if pos:
                del self._buf[:pos]
                self._base += pos
        return events

    def close(self) -> list[Event]:
        """Finish the stream: close open elements; say whether a cluster was cut short."""
        self._closed = True
        events: list[Event] = []
        cluster = self._cluster
        pending = len(self._buf)
        if cluster is not None:
            cut = pending > 0 or (cluster.end is not None and self._base < cluster.end)
            if cut:
                events.append(
                    StreamEnd(
                        complete=False,
                        incomplete_cluster_timecode=cluster.timecode,
                        incomplete_cluster_offset=cluster.offset,
                        pending_bytes=pending,
                    )
                )
                return events
            self._end_cluster(events, self._base)
        if self._in_segment:
            complete = pending == 0 and (self._segment_end is None or self._base >= self._segment_end)
            events.append(SegmentEnd(self._base))
            self._in_segment = False
            events.append(StreamEnd(complete=complete, pending_bytes=pending))
            return events
        events.append(StreamEnd(complete=pending == 0 and self._seen_header, pending_bytes=pending))
        return events

    # -- internals -------------------------------------------------------------------------------

    def _end_cluster(self, events: list[Event], offset: int) -> None:
        cluster = self._cluster
        assert cluster is not None
        self._cluster = None
        events.append(ClusterEnd(offset, cluster.timecode if cluster.timecode is not None else 0))

    def _parse(self, events: list[Event]) -> int:
        buf = self._buf
        pos = 0
        while True:
            absolute = self._base + pos
            cluster = self._cluster
            if cluster is not None and cluster.end is not None and absolute >= cluster.end:
                self._end_cluster(events, absolute)
                continue
            if (
                self._in_segment
                and cluster is None
                and self._segment_end is not None
                and absolute >= self._segment_end
            ):
                self._in_segment = False
                events.append(SegmentEnd(absolute))
                continue
            try:
                header = ebml.read_element_header(buf, pos)
            except ebml.EbmlError as exc:
                kind = "malformed" if self._seen_header else "not-mkv"
                raise MkvError(kind, str(exc), absolute) from exc
            if header is None:
                return pos
            element_id, size, header_len = header
            if not self._seen_header and element_id != ebml.EBML:
                raise MkvError("not-mkv", "stream does not start with an EBML header", absolute)
            if cluster is not None:
                ends_unknown = cluster.end is None and (
                    element_id in ebml.SEGMENT_CHILDREN or element_id in (ebml.EBML, ebml.SEGMENT)
                )
                if ends_unknown:
                    self._end_cluster(events, absolute)
                    continue
                consumed = self._cluster_child(events, element_id, size, header_len, pos)
                if consumed is None:
                    return pos
                pos = consumed
                continue
            if self._in_segment:
                if element_id == ebml.EBML or element_id == ebml.SEGMENT:
                    # a new document follows (concatenated GetMedia-style fragments)
                    self._in_segment = False
                    events.append(SegmentEnd(absolute))
                    continue
                if element_id == ebml.CLUSTER:
                    end = None if size == ebml.UNKNOWN_SIZE else absolute + header_len + size
                    self._cluster = _Cluster(offset=absolute, end=end, size=None if end is None else size)
                    pos += header_len
                    continue
                whole = self._whole(element_id, size, header_len, pos)
                if whole is None:
                    return pos
                raw = bytes(buf[pos : pos + header_len + size])
                payload = raw[header_len:]
                if element_id == ebml.INFO:
                    events.append(parse_info(raw, payload))
                elif element_id == ebml.TRACKS:
                    events.append(parse_tracks(raw, payload, absolute))
                elif element_id == ebml.TAGS:
                    events.append(TagsElement(raw))
                pos = whole
                continue
            # top level
            if element_id == ebml.SEGMENT:
                self._in_segment = True
                self._segment_end = None if size == ebml.UNKNOWN_SIZE else absolute + header_len + size
                events.append(SegmentStart(absolute, None if size == ebml.UNKNOWN_SIZE else size))
                pos += header_len
                continue
            whole = self._whole(element_id, size, header_len, pos)
            if whole is None:
                return pos
            if element_id == ebml.EBML:
                raw = bytes(buf[pos:whole])
                doc_type = ""
                for child in ebml.iter_children(raw, header_len):
                    if child.id == ebml.DOC_TYPE:
                        doc_type = child.payload(raw).decode("ascii", "replace").rstrip("\x00")
                if doc_type not in ("matroska", "webm"):
                    raise MkvError("not-mkv", f"EBML doc type {doc_type!r} is not matroska", absolute)
                self._seen_header = True
                events.append(EbmlHeader(raw, doc_type, absolute))
            pos = whole

    def _whole(self, element_id: int, size: int, header_len: int, pos: int) -> int | None:
        if size == ebml.UNKNOWN_SIZE:
            raise MkvError("malformed", f"unknown size on element 0x{element_id:X}", self._base + pos)
        limit = MAX_BLOCK if element_id in (ebml.SIMPLE_BLOCK, ebml.BLOCK_GROUP) else MAX_HEADER_ELEMENT
        if size > limit:
            raise MkvError("too-large", f"element 0x{element_id:X} of {size} bytes", self._base + pos)
        end = pos + header_len + size
        return end if end <= len(self._buf) else None

    def _cluster_child(
        self, events: list[Event], element_id: int, size: int, header_len: int, pos: int
    ) -> int | None:
        cluster = self._cluster
        assert cluster is not None
        absolute = self._base + pos
        whole = self._whole(element_id, size, header_len, pos)
        if whole is None:
            return None
        payload = bytes(self._buf[pos + header_len : whole])
        if element_id == ebml.TIMECODE:
            cluster.timecode = ebml.read_uint(payload)
            events.append(ClusterStart(cluster.offset, cluster.timecode, cluster.size))
        elif element_id in (ebml.SIMPLE_BLOCK, ebml.BLOCK_GROUP):
            if cluster.timecode is None:
                raise MkvError("malformed", "block before the cluster timecode", absolute)
            if element_id == ebml.SIMPLE_BLOCK:
                events.append(parse_block(payload, cluster.timecode, None, None, absolute))
            else:
                events.append(parse_block_group(payload, cluster.timecode, absolute))
            cluster.blocks += 1
        return whole
