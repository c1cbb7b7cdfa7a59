"""Cut a parsed Matroska stream into self-contained fragments: one Cluster per GOP, header repeated."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from videolens.media import ebml
from videolens.media.mkv_reader import (
    Block,
    EbmlHeader,
    Event,
    SegmentInfo,
    TrackInfo,
    Tracks,
)

DEFAULT_MIN_DURATION_MS = 1000
DEFAULT_MAX_DURATION_MS = 10_000
DEFAULT_MAX_FRAGMENT_BYTES = 50 * 1024 * 1024


class FragmentError(ValueError):
    """The stream breaks a fragment rule (reason in .kind, the fragment's start timecode in .timecode)."""

    def __init__(self, kind: str, message: str, timecode: int | None = None) -> None:
        super().__init__(message)
        # "timecode-backwards" | "too-large" | "too-long" | "no-key-frame" | "unknown-track" | "no-header"
        self.kind = kind
        self.timecode = timecode


@dataclass(frozen=True)
class Fragment:
    """One GOP as a standalone Matroska document (header parts kept apart so tags can be inserted)."""

    ebml_header: bytes
    info: bytes
    tracks: bytes
    cluster: bytes
    timecode: int  # start (first key frame), TimecodeScale units
    duration: int  # TimecodeScale units, up to the next fragment's start
    timecode_scale: int  # ns per unit
    keyframe_start: bool
    over_max_duration: bool
    block_count: int
    track_numbers: frozenset[int]

    @property
    def start_ms(self) -> float:
        return self.timecode * self.timecode_scale / 1e6

    @property
    def duration_ms(self) -> float:
        return self.duration * self.timecode_scale / 1e6

    @property
    def cluster_offset(self) -> int:
        """Where the Cluster starts in to_bytes() without tags (tags are spliced in there later)."""
        return len(self.ebml_header) + 12 + len(self.info) + len(self.tracks)

    def to_bytes(self, tags: bytes = b"", post_tags: bytes = b"", *, unknown_size: bool = True) -> bytes:
        """The fragment as one EBML document; `tags` go before the Cluster, `post_tags` after it.

        With unknown_size the Segment stays open, so more top-level children (post-cluster Tags) can be
        appended to the bytes later, as GetMedia does.
        """
        body = self.info + self.tracks + tags + self.cluster + post_tags
        segment = (
            ebml.unknown_size_header(ebml.SEGMENT)
            if unknown_size
            else ebml.encode_id(ebml.SEGMENT) + ebml.encode_size(len(body))
        )
        return self.ebml_header + segment + body


@dataclass
class _Pending:
    start: int | None = None  # key frame timecode
    blocks: list[Block] = field(default_factory=list)
    size: int = 0
    last_end: int | None = None


@dataclass
class Fragmenter:
    """Feed reader events; get Fragments as each GOP closes (at the next key frame) and on flush()."""

    min_duration_ms: float = DEFAULT_MIN_DURATION_MS
    max_duration_ms: float = DEFAULT_MAX_DURATION_MS
    max_fragment_bytes: int = DEFAULT_MAX_FRAGMENT_BYTES
    #: with no video track, cut audio-only streams at this length
    audio_only_duration_ms: float = 2000
    #: added to every Cluster timecode written (e.g. a RELATIVE producer's start time, so fragments carry
    #: absolute producer time as GetMedia does); Fragment.timecode stays on the producer's own time line
    timecode_offset: int = 0

    _header: bytes | None = None
    _info: bytes | None = None
    _scale: int = 1_000_000
    _tracks_raw: bytes | None = None
    _tracks: dict[int, TrackInfo] = field(default_factory=dict)
    _pending: _Pending = field(default_factory=_Pending)
    _last_fragment_start: int | None = None
    _last_delta: dict[int, int] = field(default_factory=dict)
    _last_timecode: dict[int, int] = field(default_factory=dict)
    #: video frames dropped because no key frame had been seen yet
    skipped_leading_blocks: int = 0

    @property
    def has_video(self) -> bool:
        return any(track.is_video for track in self._tracks.values())

    @property
    def pending_start(self) -> int | None:
        """Start timecode of the GOP being collected (None before the first key frame)."""
        return self._pending.start

    @property
    def pending_blocks(self) -> int:
        return len(self._pending.blocks)

    @property
    def timecode_scale(self) -> int:
        return self._scale

    @property
    def tracks(self) -> dict[int, TrackInfo]:
        return dict(self._tracks)

    def feed(self, event: Event) -> list[Fragment]:
        out: list[Fragment] = []
        if isinstance(event, EbmlHeader):
            # a new document: what we hold belongs to the old header
            out.extend(self.flush())
            self._header = event.raw
            self._info = None
            self._tracks_raw = None
            self._tracks = {}
        elif isinstance(event, SegmentInfo):
            self._info = _strip_duration(event.raw)
            self._scale = event.timecode_scale
        elif isinstance(event, Tracks):
            self._tracks_raw = event.raw
            self._tracks = {track.number: track for track in event.tracks}
        elif isinstance(event, Block):
            out.extend(self._block(event))
        return out

    def flush(self) -> list[Fragment]:
        """Close the GOP being collected (end of stream); its end is estimated from frame durations."""
        pending = self._pending
        if pending.start is None or not pending.blocks:
            self._pending = _Pending()
            return []
        end = pending.last_end if pending.last_end is not None else pending.start
        return [self._close(max(end, pending.start + 1))]

    def discard(self) -> int:
        """Drop the GOP being collected (e.g. the producer vanished mid-cluster); returns blocks dropped."""
        dropped = len(self._pending.blocks)
        self._pending = _Pending()
        return dropped

    # -- internals -------------------------------------------------------------------------------

    def _units(self, ms: float) -> float:
        return ms * 1e6 / self._scale

    def _block(self, block: Block) -> list[Fragment]:
        if self._header is None or self._info is None or self._tracks_raw is None:
            raise FragmentError("no-header", "block before the EBML header, Info and Tracks", block.timecode)
        track = self._tracks.get(block.track)
        if track is None:
            raise FragmentError(
                "unknown-track", f"block of track {block.track} not declared in Tracks", block.timecode
            )
        out: list[Fragment] = []
        pending = self._pending
        timecode = block.timecode
        is_cut_point = (block.keyframe and track.is_video) if self.has_video else True
        if is_cut_point:
            if pending.start is None:
                self._begin(timecode)
            elif timecode < pending.start:
                raise FragmentError(
                    "timecode-backwards",
                    f"key frame at {timecode} lies before the fragment start {pending.start}",
                    timecode,
                )
            else:
                min_len = self.audio_only_duration_ms if not self.has_video else self.min_duration_ms
                if timecode - pending.start >= self._units(min_len):
                    out.append(self._close(timecode))
                    self._begin(timecode)
        elif pending.start is None and track.is_video:
            # frames of a GOP whose key frame we never saw cannot be decoded: drop them
            self.skipped_leading_blocks += 1
            return out
        pending = self._pending
        pending.blocks.append(block)
        pending.size += len(block.data) + 12
        if pending.size > self.max_fragment_bytes:
            raise FragmentError(
                "too-large", f"fragment exceeds {self.max_fragment_bytes} bytes", pending.start
            )
        end = timecode + self._frame_duration(block, track)
        pending.last_end = end if pending.last_end is None else max(pending.last_end, end)
        return out

    def _frame_duration(self, block: Block, track: TrackInfo) -> int:
        previous = self._last_timecode.get(block.track)
        if previous is not None and block.timecode > previous:
            self._last_delta[block.track] = block.timecode - previous
        self._last_timecode[block.track] = block.timecode
        if block.duration:
            return block.duration
        if track.default_duration_ns:
            return max(1, round(track.default_duration_ns / self._scale))
        return self._last_delta.get(block.track, 1)

    def _begin(self, start: int) -> None:
        last = self._last_fragment_start
        if last is not None and start <= last:
            raise FragmentError(
                "timecode-backwards", f"fragment starts at {start}, not after the previous {last}", start
            )
        # audio that arrived before the very first key frame rides along in the first fragment
        carried = self._pending.blocks if self._pending.start is None else []
        self._pending = _Pending(start=start, blocks=list(carried), size=sum(len(b.data) for b in carried))
        if carried:
            self._pending.last_end = max(b.timecode for b in carried)

    def _close(self, end: int) -> Fragment:
        pending = self._pending
        assert pending.start is not None and self._header and self._info and self._tracks_raw
        start = pending.start
        parts = [ebml.uint_element(ebml.TIMECODE, start + self.timecode_offset)]
        for block in pending.blocks:
            relative = block.timecode - start
            if not -32768 <= relative <= 32767:
                raise FragmentError(
                    "too-long", "a frame lies more than 32767 units from its key frame", start
                )
            data = block.data
            rel_at = block.header_len - 3
            data = data[:rel_at] + struct.pack(">h", relative) + data[rel_at + 2 :]
            parts.append(ebml.element(ebml.SIMPLE_BLOCK, data))
        cluster = ebml.element(ebml.CLUSTER, b"".join(parts))
        duration = end - start
        fragment = Fragment(
            ebml_header=self._header,
            info=self._info,
            tracks=self._tracks_raw,
            cluster=cluster,
            timecode=start,
            duration=duration,
            timecode_scale=self._scale,
            keyframe_start=True,
            over_max_duration=duration > self._units(self.max_duration_ms),
            block_count=len(pending.blocks),
            track_numbers=frozenset(b.track for b in pending.blocks),
        )
        self._last_fragment_start = start
        self._pending = _Pending()
        return fragment


def _strip_duration(info_raw: bytes) -> bytes:
    """Info without Duration: a fragment is not the whole recording the producer's Info described."""
    header = ebml.read_element_header(info_raw, 0)
    assert header is not None
    _, _, header_len = header
    kept = [
        info_raw[child.offset : child.end]
        for child in ebml.iter_children(info_raw, header_len)
        if child.id != ebml.DURATION
    ]
    return ebml.element(ebml.INFO, b"".join(kept))
