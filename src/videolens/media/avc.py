"""H.264 in MP4/Matroska form (avcC CodecPrivate, length-prefixed NAL units): in-band parameter sets.

An MPEG-TS segment must carry SPS/PPS before its first key frame so that it decodes on its own.
FFmpeg's h264_mp4toannexb inserts them only before IDR pictures; an open-GOP key frame (an I picture
with a recovery point) is not one, so segments that start there need them added by us.
"""

from __future__ import annotations

from collections.abc import Iterator

SPS, PPS = 7, 8


def nal_length_size(avcc: bytes) -> int:
    if len(avcc) < 7 or avcc[0] != 1:
        raise ValueError("not an avcC record")
    return (avcc[4] & 0x03) + 1


def parameter_sets(avcc: bytes) -> list[bytes]:
    """The SPS and PPS NAL units an avcC record holds, in order."""
    nal_length_size(avcc)
    out: list[bytes] = []
    pos = 5
    for count_mask in (0x1F, 0xFF):
        if pos >= len(avcc):
            raise ValueError("truncated avcC record")
        count = avcc[pos] & count_mask
        pos += 1
        for _ in range(count):
            size = int.from_bytes(avcc[pos : pos + 2], "big")
            nal = avcc[pos + 2 : pos + 2 + size]
            if len(nal) != size:
                raise ValueError("truncated avcC record")
            out.append(nal)
            pos += 2 + size
    return out


def nal_types(frame: bytes, length_size: int) -> Iterator[int]:
    pos = 0
    while pos + length_size <= len(frame):
        size = int.from_bytes(frame[pos : pos + length_size], "big")
        pos += length_size
        if size == 0 or pos + size > len(frame):
            return
        yield frame[pos] & 0x1F
        pos += size


def with_parameter_sets(frame: bytes, avcc: bytes) -> bytes:
    """`frame` (length-prefixed NAL units) with the avcC's SPS/PPS in front, unless it has an SPS."""
    length_size = nal_length_size(avcc)
    if SPS in nal_types(frame, length_size):
        return frame
    prefix = b"".join(len(nal).to_bytes(length_size, "big") + nal for nal in parameter_sets(avcc))
    return prefix + frame
