"""Remux a run of Matroska fragments into one MP4 (GetClip) with PyAV: no re-encode, audio kept."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import av
import av.container


class ClipError(ValueError):
    """The fragments cannot become an MP4 (reason in .kind)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "no-fragments" | "unsupported-codec" | "missing-codec-private" | "invalid-media"


#: codecs an MP4 clip may carry, as GetClip allows them (video first track, optional audio)
VIDEO_CODECS = frozenset({"h264", "hevc"})
AUDIO_CODECS = frozenset({"aac", "pcm_alaw", "pcm_mulaw", "mp3", "opus"})


@dataclass(frozen=True)
class ClipInfo:
    video_packets: int
    audio_packets: int
    duration_s: float
    first_timestamp_s: float  # of the first packet, on the fragments' (producer) time line


def write_mp4(
    fragments: Iterable[bytes], out: IO[bytes], *, fmt: str = "mp4", options: dict[str, str] | None = None
) -> ClipInfo:
    """Concatenate fragment blobs (each a standalone Matroska document) into `out` as one MP4.

    Timestamps are shifted so the clip starts at zero; fragments keep their relative spacing, so the
    time line is continuous when they are. `out` must be seekable for a plain MP4 (moov at the end).
    """
    output: av.container.OutputContainer | None = None
    mapping: dict[int, av.stream.Stream] = {}
    origin: float | None = None
    counts = {"video": 0, "audio": 0}
    last_end = 0.0
    try:
        for blob in fragments:
            try:
                source = av.open(io.BytesIO(blob), "r", format="matroska")
            except av.error.FFmpegError as exc:
                raise ClipError("invalid-media", f"fragment is not decodable Matroska: {exc}") from exc
            with source:
                if output is None:
                    output = av.open(out, "w", format=fmt, options=options or {})
                    mapping = _add_streams(output, source)
                for packet in source.demux():
                    if packet.dts is None or packet.stream.index not in mapping or packet.size == 0:
                        continue
                    time_base = packet.stream.time_base
                    assert time_base is not None
                    dts_s = float(packet.dts * time_base)
                    if origin is None:
                        origin = dts_s
                    target = mapping[packet.stream.index]
                    shift = round(origin / time_base)
                    packet.dts -= shift
                    if packet.pts is not None:
                        packet.pts -= shift
                    end_s = float(((packet.pts or packet.dts) + (packet.duration or 0)) * time_base)
                    last_end = max(last_end, end_s)
                    counts[packet.stream.type] = counts.get(packet.stream.type, 0) + 1
                    packet.stream = target
                    output.mux(packet)
        if output is None:
            raise ClipError("no-fragments", "no fragments to put in the clip")
    finally:
        if output is not None:
            output.close()
    return ClipInfo(counts["video"], counts["audio"], last_end, origin or 0.0)


def clip_bytes(fragments: Iterable[bytes]) -> bytes:
    buffer = io.BytesIO()
    write_mp4(fragments, buffer)
    return buffer.getvalue()


def _add_streams(
    output: av.container.OutputContainer, source: av.container.InputContainer
) -> dict[int, av.stream.Stream]:
    mapping: dict[int, av.stream.Stream] = {}
    videos = [s for s in source.streams if s.type == "video"]
    if not videos:
        raise ClipError("unsupported-codec", "the fragments have no video track")
    for stream in source.streams:
        name = stream.codec_context.name if stream.codec_context else ""
        if stream.type == "video":
            if name not in VIDEO_CODECS:
                raise ClipError("unsupported-codec", f"video codec {name!r} cannot go into an MP4 clip")
            if not stream.codec_context.extradata:
                raise ClipError("missing-codec-private", "the video track has no codec private data")
        elif stream.type == "audio":
            if name not in AUDIO_CODECS:
                continue  # GetClip keeps only audio MP4 can carry; other tracks are left out
        else:
            continue
        mapping[stream.index] = output.add_stream_from_template(stream)
    return mapping
