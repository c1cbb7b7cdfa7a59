"""Hostile media made in the test: Matroska with lying EBML sizes, deep nesting and empty frames,
truncated and corrupt MP4, images with huge declared sizes (decompression bombs)."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

from videolens.media import ebml

EBML_HEADER = ebml.element(
    0x1A45DFA3,
    ebml.uint_element(0x4286, 1)
    + ebml.uint_element(0x42F7, 1)
    + ebml.uint_element(0x42F2, 4)
    + ebml.uint_element(0x42F3, 8)
    + ebml.string_element(0x4282, "matroska")
    + ebml.uint_element(0x4287, 4)
    + ebml.uint_element(0x4285, 2),
)
SEGMENT = 0x18538067
CLUSTER = 0x1F43B675
SIMPLE_BLOCK = 0xA3
TIMECODE = 0xE7


def _header(element_id: int, size: int) -> bytes:
    return ebml.encode_id(element_id) + ebml.encode_size(size, 8)


def mkv_after_header(good_mkv: bytes) -> tuple[bytes, int]:
    """The good stream's bytes up to (not including) its first Cluster, and that offset."""
    at = good_mkv.find(ebml.encode_id(CLUSTER))
    assert at > 0
    return good_mkv[:at], at


def huge_cluster(good_mkv: bytes) -> bytes:
    """Valid headers, then a Cluster whose SimpleBlock declares ~1 TB."""
    head, _ = mkv_after_header(good_mkv)
    block = _header(SIMPLE_BLOCK, 1 << 40) + b"\x81\x00\x00\x80" + b"\x00" * 1000
    return head + _header(CLUSTER, 1 << 41) + ebml.uint_element(TIMECODE, 0) + block


def huge_segment_size() -> bytes:
    """An EBML header and a Segment that declares 2^55 bytes, then garbage."""
    return EBML_HEADER + _header(SEGMENT, (1 << 55) - 2) + b"\xde\xad\xbe\xef" * 4096


def deep_nesting(good_mkv: bytes, depth: int = 20_000) -> bytes:
    """Valid headers, then Tags > Tag > SimpleTag nested `depth` levels deep (each of known size)."""
    head, _ = mkv_after_header(good_mkv)
    inner = ebml.string_element(0x45A3, "k") + ebml.string_element(0x4487, "v")
    for _ in range(depth):
        inner = ebml.element(0x67C8, ebml.string_element(0x45A3, "k") + inner)  # SimpleTag in SimpleTag
    return head + ebml.element(0x1254C367, ebml.element(0x7373, inner)) + media_tail(good_mkv)


def media_tail(good_mkv: bytes) -> bytes:
    """The good stream's clusters (so a reader that skips the bad part finds real frames after it)."""
    _, at = mkv_after_header(good_mkv)
    return good_mkv[at:]


def zero_size_frames(good_mkv: bytes, count: int = 2000) -> bytes:
    """Valid headers, then a Cluster of SimpleBlocks with no frame data (and some of size 0)."""
    head, _ = mkv_after_header(good_mkv)
    empty = ebml.element(SIMPLE_BLOCK, b"\x81\x00\x00\x80")  # track 1, timecode 0, key frame, no data
    nothing = ebml.encode_id(SIMPLE_BLOCK) + ebml.encode_size(0)
    body = ebml.uint_element(TIMECODE, 0) + (empty + nothing) * (count // 2)
    return head + ebml.element(CLUSTER, body)


def garbage(size: int = 256 * 1024) -> bytes:
    return np.random.default_rng(7).integers(0, 256, size, dtype=np.uint8).tobytes()


def png_bomb(width: int, height: int) -> bytes:
    """A valid grayscale PNG of width x height zero pixels, compressed (~1000:1)."""
    row = b"\x00" + b"\x00" * width
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is patched to claim width x height."""
    ok, enc = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    assert ok
    data = bytearray(enc.tobytes())
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def truncated(data: bytes, fraction: float = 0.4) -> bytes:
    return data[: int(len(data) * fraction)]


def corrupt(data: bytes, every: int = 97) -> bytes:
    """Every `every`th byte after the first 2 KB flipped (headers parse, payloads are broken)."""
    out = bytearray(data)
    for i in range(2048, len(out), every):
        out[i] ^= 0xFF
    return bytes(out)


def mp4_with_huge_box(mp4: bytes) -> bytes:
    """The `moov` box's 32-bit size replaced by a 64-bit size of 2^60."""
    at = mp4.find(b"moov")
    assert at >= 4
    return mp4[: at - 4] + struct.pack(">I", 1) + b"moov" + struct.pack(">Q", 1 << 60) + mp4[at + 4 :]


def oversized_fragment(good_mkv: bytes, mib: int = 60) -> bytes:
    """Valid headers, then one Cluster of `mib` 1 MiB frames after a single key frame (over the
    50 MB fragment limit): the server must refuse it, not keep buffering it."""
    head, _ = mkv_after_header(good_mkv)
    frame = b"\x00" * (1024 * 1024)
    blocks = b"".join(
        ebml.element(SIMPLE_BLOCK, b"\x81" + struct.pack(">h", i) + (b"\x80" if i == 0 else b"\x00") + frame)
        for i in range(mib)
    )
    return head + ebml.unknown_size_header(CLUSTER) + ebml.uint_element(TIMECODE, 0) + blocks
