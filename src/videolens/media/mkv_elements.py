"""Parsing whole Matroska elements: Info, Tracks, SimpleBlock / BlockGroup headers and laced frames."""

from __future__ import annotations

import struct

from videolens.media import ebml
from videolens.media.mkv_events import Block, MkvError, SegmentInfo, TrackInfo, Tracks


def parse_block(
    payload: bytes, cluster_timecode: int, keyframe: bool | None, duration: int | None, offset: int
) -> Block:
    track = ebml.read_vint(payload, 0, keep_marker=False)
    if track is None or len(payload) < track[1] + 3:
        raise MkvError("malformed", "truncated block header", offset)
    number, track_len = track
    relative = struct.unpack_from(">h", payload, track_len)[0]
    flags = payload[track_len + 2]
    if keyframe is None:
        keyframe = bool(flags & 0x80)
    else:
        # a Block inside a BlockGroup: rewrite its flags the SimpleBlock way
        flags = (flags & 0x7F) | (0x80 if keyframe else 0)
        payload = payload[: track_len + 2] + bytes([flags]) + payload[track_len + 3 :]
    return Block(number, cluster_timecode, relative, keyframe, payload, track_len + 3, duration)


def parse_block_group(payload: bytes, cluster_timecode: int, offset: int) -> Block:
    block: bytes | None = None
    referenced = False
    duration: int | None = None
    for child in ebml.iter_children(payload):
        if child.id == ebml.BLOCK:
            block = child.payload(payload)
        elif child.id == ebml.REFERENCE_BLOCK:
            referenced = True
        elif child.id == ebml.BLOCK_DURATION:
            duration = ebml.read_uint(child.payload(payload))
    if block is None:
        raise MkvError("malformed", "BlockGroup without a Block", offset)
    return parse_block(block, cluster_timecode, not referenced, duration, offset)


def parse_info(raw: bytes, payload: bytes) -> SegmentInfo:
    scale = 1_000_000
    duration: float | None = None
    for child in ebml.iter_children(payload):
        if child.id == ebml.TIMECODE_SCALE:
            scale = ebml.read_uint(child.payload(payload))
        elif child.id == ebml.DURATION:
            duration = ebml.read_float(child.payload(payload))
    return SegmentInfo(raw, scale, duration)


def parse_tracks(raw: bytes, payload: bytes, offset: int) -> Tracks:
    tracks: list[TrackInfo] = []
    for entry in ebml.iter_children(payload):
        if entry.id != ebml.TRACK_ENTRY:
            continue
        body = entry.payload(payload)
        number = 0
        track_type = 0
        codec_id = ""
        private = b""
        default_duration: int | None = None
        width: int | None = None
        height: int | None = None
        for child in ebml.iter_children(body):
            value = child.payload(body)
            if child.id == ebml.TRACK_NUMBER:
                number = ebml.read_uint(value)
            elif child.id == ebml.TRACK_TYPE:
                track_type = ebml.read_uint(value)
            elif child.id == ebml.CODEC_ID:
                codec_id = value.decode("ascii", "replace").rstrip("\x00")
            elif child.id == ebml.CODEC_PRIVATE:
                private = value
            elif child.id == ebml.DEFAULT_DURATION:
                default_duration = ebml.read_uint(value)
            elif child.id == ebml.VIDEO:
                for video_child in ebml.iter_children(value):
                    if video_child.id == ebml.PIXEL_WIDTH:
                        width = ebml.read_uint(video_child.payload(value))
                    elif video_child.id == ebml.PIXEL_HEIGHT:
                        height = ebml.read_uint(video_child.payload(value))
        if number == 0:
            raise MkvError("malformed", "TrackEntry without a TrackNumber", offset)
        tracks.append(TrackInfo(number, track_type, codec_id, private, default_duration, width, height))
    return Tracks(raw, tuple(tracks))


def laced_frames(block: Block) -> list[bytes]:
    """The coded frames of a block: one, or several when the block is laced (Xiph, EBML or fixed)."""
    data = block.data
    flags = data[block.header_len - 1]
    body = data[block.header_len :]
    lacing = (flags >> 1) & 0x03
    if lacing == 0:
        return [body]
    if not body:
        raise MkvError("malformed", "laced block without a frame count")
    count = body[0] + 1
    pos = 1
    sizes: list[int] = []
    if lacing == 1:  # Xiph: each size as a run of 255s plus a final byte
        for _ in range(count - 1):
            size = 0
            while True:
                if pos >= len(body):
                    raise MkvError("malformed", "truncated Xiph lace sizes")
                byte = body[pos]
                pos += 1
                size += byte
                if byte != 255:
                    break
            sizes.append(size)
    elif lacing == 3:  # EBML: first size as a vint, then signed differences
        first = ebml.read_vint(body, pos, keep_marker=False)
        if first is None:
            raise MkvError("malformed", "truncated EBML lace sizes")
        sizes.append(first[0])
        pos += first[1]
        for _ in range(count - 2):
            raw = ebml.read_vint(body, pos, keep_marker=False)
            if raw is None:
                raise MkvError("malformed", "truncated EBML lace sizes")
            value, length = raw
            if value == ebml.UNKNOWN_SIZE:  # read_vint's all-ones marker is a plain number here
                value = (1 << (7 * length)) - 1
            pos += length
            sizes.append(sizes[-1] + value - ((1 << (7 * length - 1)) - 1))
    else:  # fixed: equal parts
        if (len(body) - pos) % count:
            raise MkvError("malformed", "fixed lacing does not divide the block evenly")
        sizes = [(len(body) - pos) // count] * (count - 1)
    last = len(body) - pos - sum(sizes)
    if last < 0 or any(size < 0 for size in sizes):
        raise MkvError("malformed", "lace sizes exceed the block")
    frames = []
    for size in [*sizes, last]:
        frames.append(body[pos : pos + size])
        pos += size
    return frames
