"""EBML primitives: variable-length integers, element headers and element encoding for Matroska."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

# Element ids (with their length marker bits, as they appear on the wire).
EBML = 0x1A45DFA3
EBML_VERSION = 0x4286
EBML_READ_VERSION = 0x42F7
EBML_MAX_ID_LENGTH = 0x42F2
EBML_MAX_SIZE_LENGTH = 0x42F3
DOC_TYPE = 0x4282
DOC_TYPE_VERSION = 0x4287
DOC_TYPE_READ_VERSION = 0x4285
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
INFO = 0x1549A966
TIMECODE_SCALE = 0x2AD7B1
DURATION = 0x4489
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_NUMBER = 0xD7
TRACK_TYPE = 0x83
CODEC_ID = 0x86
CODEC_PRIVATE = 0x63A2
DEFAULT_DURATION = 0x23E383
VIDEO = 0xE0
PIXEL_WIDTH = 0xB0
PIXEL_HEIGHT = 0xBA
CLUSTER = 0x1F43B675
TIMECODE = 0xE7
POSITION = 0xA7
PREV_SIZE = 0xAB
SIMPLE_BLOCK = 0xA3
BLOCK_GROUP = 0xA0
BLOCK = 0xA1
BLOCK_DURATION = 0x9B
REFERENCE_BLOCK = 0xFB
CUES = 0x1C53BB6B
CHAPTERS = 0x1043A770
ATTACHMENTS = 0x1941A469
TAGS = 0x1254C367
TAG = 0x7373
TARGETS = 0x63C0
SIMPLE_TAG = 0x67C8
TAG_NAME = 0x45A3
TAG_STRING = 0x4487
VOID = 0xEC
CRC32 = 0xBF

#: Segment children that can never sit inside a Cluster, so one of them ends an unknown-size Cluster
#: (Void and CRC-32 may appear at both levels and therefore end nothing)
SEGMENT_CHILDREN = frozenset({SEEK_HEAD, INFO, TRACKS, CLUSTER, CUES, CHAPTERS, ATTACHMENTS, TAGS})
#: the largest size value of each length, reserved by EBML to mean "unknown size"
UNKNOWN_SIZE = -1


class EbmlError(ValueError):
    """Bytes that cannot be EBML (bad varint, size overflow)."""


def read_vint(buf: bytes | bytearray | memoryview, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """Read a varint at pos: (value, length), or None when buf ends before it does.

    Ids keep their marker bit (keep_marker=True); sizes drop it and map the all-ones value to UNKNOWN_SIZE.
    """
    if pos >= len(buf):
        return None
    first = buf[pos]
    if first == 0:
        raise EbmlError(f"invalid EBML varint at offset {pos}")
    length = 8 - first.bit_length() + 1
    if pos + length > len(buf):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    all_ones = value == (0xFF >> length)
    for i in range(1, length):
        byte = buf[pos + i]
        value = (value << 8) | byte
        all_ones = all_ones and byte == 0xFF
    if not keep_marker and all_ones:
        return UNKNOWN_SIZE, length
    return value, length


def read_element_header(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int, int] | None:
    """Read an element header at pos: (id, size or UNKNOWN_SIZE, header length), None if incomplete."""
    id_part = read_vint(buf, pos, keep_marker=True)
    if id_part is None:
        return None
    element_id, id_len = id_part
    if id_len > 4:
        raise EbmlError(f"element id longer than 4 bytes at offset {pos}")
    size_part = read_vint(buf, pos + id_len, keep_marker=False)
    if size_part is None:
        return None
    size, size_len = size_part
    return element_id, size, id_len + size_len


def encode_id(element_id: int) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def encode_size(size: int, length: int | None = None) -> bytes:
    """Encode a size varint; UNKNOWN_SIZE becomes the 8-byte all-ones marker."""
    if size == UNKNOWN_SIZE:
        return b"\x01\xff\xff\xff\xff\xff\xff\xff"
    if length is None:
        length = 1
        while size >= (1 << (7 * length)) - 1:
            length += 1
    if length > 8 or size >= (1 << (7 * length)) - 1:
        raise EbmlError(f"size {size} does not fit {length} bytes")
    return ((1 << (7 * length)) | size).to_bytes(length, "big")


def element(element_id: int, payload: bytes) -> bytes:
    return encode_id(element_id) + encode_size(len(payload)) + payload


def unknown_size_header(element_id: int) -> bytes:
    return encode_id(element_id) + encode_size(UNKNOWN_SIZE)


def uint_element(element_id: int, value: int) -> bytes:
    length = max(1, (value.bit_length() + 7) // 8)
    return element(element_id, value.to_bytes(length, "big"))


def string_element(element_id: int, value: str) -> bytes:
    return element(element_id, value.encode("utf-8"))


def read_uint(payload: bytes | bytearray | memoryview) -> int:
    return int.from_bytes(payload, "big")


def read_float(payload: bytes | bytearray | memoryview) -> float:
    if len(payload) == 4:
        return float(struct.unpack(">f", payload)[0])
    if len(payload) == 8:
        return float(struct.unpack(">d", payload)[0])
    if len(payload) == 0:
        return 0.0
    raise EbmlError(f"float element of {len(payload)} bytes")


@dataclass(frozen=True)
class Child:
    """One element found inside a master element's payload."""

    id: int
    offset: int  # of the element header, within the scanned buffer
    header_len: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.header_len + self.size

    def payload(self, buf: bytes) -> bytes:
        return buf[self.offset + self.header_len : self.end]


def iter_children(buf: bytes, start: int = 0, end: int | None = None) -> Iterator[Child]:
    """Walk the known-size elements laid end to end in buf[start:end]."""
    stop = len(buf) if end is None else end
    pos = start
    while pos < stop:
        header = read_element_header(buf, pos)
        if header is None:
            raise EbmlError(f"truncated element header at offset {pos}")
        element_id, size, header_len = header
        if size == UNKNOWN_SIZE or pos + header_len + size > stop:
            raise EbmlError(f"element 0x{element_id:X} at offset {pos} overruns its parent")
        yield Child(element_id, pos, header_len, size)
        pos += header_len + size
